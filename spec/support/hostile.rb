# frozen_string_literal: true

require "bigdecimal"

module JRestartSpec
  # Random calls to every public method of JRestart with values of every kind a
  # caller could pass by mistake or on purpose, from one seed. A command that
  # is a String never names a real program (so nothing runs and the process is
  # never replaced): the point is what bad input does, not what programs do.
  class Hostile
    # What the README promises bad input raises.
    DOCUMENTED = [TypeError, ArgumentError, SystemCallError, JRestart::Error].freeze
    PREFIX = "/nonexistent/jrestart-hostile/"
    OPTIONS = JRestart::LAUNCH_OPTIONS.keys + %i[env keep unsetenv_others]
    ENCODINGS = [Encoding::BINARY, Encoding::UTF_8, Encoding::UTF_16LE, Encoding::Windows_1252, Encoding::EUC_JP].freeze

    attr_reader :calls, :outcomes, :unexpected

    def initialize(seed, scratch)
      @rng = Random.new(seed)
      @scratch = scratch
      @calls = 0
      @outcomes = Hash.new(0)
      @unexpected = []
      @launch = JRestart.launch("/bin/true")
      @closed = File.open(File::NULL).tap(&:close)
    end

    def run(count)
      count.times { call_one }
      self
    end

    private

    def call_one
      name, receiver, args, kwargs = pick
      @calls += 1
      invoke(name, receiver, args, kwargs)
    end

    def invoke(name, receiver, args, kwargs)
      result = receiver.public_send(name, *args, **kwargs)
      # A call that went through started nothing real: reap whatever it was.
      result.wait(5) if result.is_a?(JRestart::Launch)
      @outcomes["ok"] += 1
    rescue *DOCUMENTED => e
      @outcomes[e.class.ancestors.find { |c| DOCUMENTED.include?(c) }.name] += 1
    rescue Exception => e # rubocop:disable Lint/RescueException -- anything else is the finding
      @outcomes["unexpected"] += 1
      @unexpected << { "method" => name.to_s, "args" => text(args), "kwargs" => text(kwargs),
                       "error" => e.class.name, "message" => text(e.message) }
    end

    # The report goes back as JSON: a finding whose text is not valid UTF-8 must still reach it,
    # and JRuby 10's Array#inspect raises Encoding::CompatibilityError for a UTF-16LE element.
    def text(value)
      shown = value.is_a?(Array) || value.is_a?(Hash) ? value.to_a.flatten.map { |v| inspected(v) }.join(", ") : value.to_s
      shown[0, 300].dup.force_encoding(Encoding::UTF_8).scrub("?")
    end

    def inspected(value)
      value.inspect.b
    rescue EncodingError
      "#<#{value.class} #{value.to_s.b.inspect}>"
    end

    def pick
      case @rng.rand(13)
      when 0 then [:launch, JRestart, [command, *values(3)], options]
      when 1 then [:plan, JRestart, (@rng.rand(4).zero? ? [] : [command, *values(2)]), options]
      when 2 then [:restart!, JRestart, [command, *values(2)], options]
      when 3 then [:reexec!, JRestart, [[command, *values(2)]], options.slice(:env, :keep, :unsetenv_others)]
      when 4 then [:socket?, JRestart, values(@rng.rand(3).zero? ? @rng.rand(3) : 1), {}]
      when 5 then [:fstat, JRestart, values(1), {}]
      when 6 then [%i[open_fds features detect restart_command command].sample(random: @rng), JRestart,
                   values(@rng.rand(4).zero? ? 1 : 0), {}]
      when 7 then [:command=, JRestart, [@rng.rand(2).zero? ? [command, *values(1)] : value], {}]
      when 8 then [:wait, @launch, values(@rng.rand(3)), {}]
      when 9 then [%i[to_s to_h descriptors inherited].sample(random: @rng), JRestart.plan("/bin/true"), values(0), {}]
      when 10 then [%i[to_h inspect type socket? family local_address listening?].sample(random: @rng),
                    JRestart.open_fds.sample(random: @rng), [], {}]
      when 11 then [:launch, JRestart, [command], options]
      else [:plan, JRestart, [command], options]
      end
    end

    # A command: never a real program when it is a String.
    def command
      v = value
      v.is_a?(String) ? (PREFIX.b + v.b).force_encoding(v.encoding) : v
    rescue EncodingError
      PREFIX.dup
    end

    def options
      keys = Array.new(@rng.rand(4)) { @rng.rand(8).zero? ? symbol(key_text(value)) : OPTIONS.sample(random: @rng) }
      keys.to_h { |k| [k, option_value(k)] }
    end

    # An unknown option's name from a random value. JRuby 10's Hash#inspect raises
    # Encoding::CompatibilityError for a UTF-16LE string in it: the class name then.
    def key_text(value)
      value.to_s
    rescue EncodingError
      value.class.name
    end

    def option_value(key)
      return value unless @rng.rand(3).zero?

      case key
      when :keep then Array.new(@rng.rand(4)) { [@rng.rand(-5..70_000), @closed, $stdout, value].sample(random: @rng) }
      when :env then Array.new(@rng.rand(4)) { [value, value] }.to_h
      when :log then [File.join(@scratch, "log-#{@rng.rand(1000)}"), "#{@scratch}/missing/x.log", "relative.log"]
                     .sample(random: @rng)
      when :chdir then ["/", @scratch, "/nonexistent", "relative", "/etc/passwd"].sample(random: @rng)
      when :close then %i[all sockets none].sample(random: @rng)
      when :strategy then %i[spawn fork vfork].sample(random: @rng)
      when :delay then [-1, 0, 0.001, Float::NAN, Float::INFINITY, 2**70, "1"].sample(random: @rng)
      else [true, false, nil].sample(random: @rng)
      end
    end

    def values(count)
      Array.new(count) { value }
    end

    def value(depth = 0)
      case @rng.rand(14)
      when 0 then nil
      when 1 then [true, false].sample(random: @rng)
      when 2 then @rng.rand(-(2**70)..2**70)
      when 3 then [-1, 0, 1, 2, 3, 255, 65_536, 2**31 - 1, 2**31, -(2**31), 2**63, -(2**63) - 1].sample(random: @rng)
      when 4 then [@rng.rand * 1e6, -0.0, Float::NAN, Float::INFINITY, -Float::INFINITY, 1e300].sample(random: @rng)
      when 5 then string
      when 6 then (string.b + "\0" + string.b).force_encoding(ENCODINGS.sample(random: @rng))
      when 7 then [string.freeze, "/".freeze, "".freeze, "/dev/null".freeze].sample(random: @rng)
      when 8 then [:all, :sockets, :fork, :spawn, :"", symbol(string)].sample(random: @rng)
      when 9 then depth < 2 ? Array.new(@rng.rand(4)) { value(depth + 1) } : []
      when 10 then depth < 2 ? Array.new(@rng.rand(3)) { [value(depth + 1), value(depth + 1)] }.to_h : {}
      when 11 then [Object.new, Class.new, -> {}, 1..2, Rational(1, 3), Complex(1, 1), BigDecimal("1.5")]
                   .sample(random: @rng)
      when 12 then [@closed, $stdout, $stdin, STDERR].sample(random: @rng)
      else "x" * [1, 255, 4096, 70_000, 1_000_000].sample(random: @rng)
      end
    end

    def symbol(text)
      (text.valid_encoding? ? text : text.b).to_sym
    end

    def string
      bytes = Array.new(@rng.rand(0..40)) { @rng.rand(256) }.pack("C*")
      bytes.force_encoding(ENCODINGS.sample(random: @rng))
    end
  end
end
