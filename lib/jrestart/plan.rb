# frozen_string_literal: true

module JRestart
  # What a restart will do, worked out without doing anything: the command and
  # how it was chosen, what the child gets (session, cwd, stdio, descriptors)
  # and what it does not. JRestart.restart! runs #execute of the same plan.
  class Plan
    # One of this process's descriptors and what becomes of it in the child:
    # :inherited, :withheld (jrestart closes it), :close_on_exec (exec closes
    # it anyway) or :replaced (stdin, stdout, stderr).
    Entry = Struct.new(:descriptor, :fate) do
      def to_h
        descriptor.to_h.merge(fate: fate)
      end
    end

    STRATEGIES = { spawn: "posix_spawn", fork: "fork + execve" }.freeze

    attr_reader :command, :path, :source, :manager, :options

    # keep: the checked descriptor numbers of options[:keep].
    def initialize(command, path, source, manager, options, keep)
      @command = command.freeze
      @path = path.freeze
      @source = source
      @manager = manager
      @options = options.freeze
      @keep = keep.freeze
    end

    # Every open descriptor of this process as a Plan::Entry, listed when first
    # asked for: #execute does not need the list, so a restart does not depend
    # on reading /proc.
    def descriptors
      @descriptors ||= JRestart.open_fds.map { |d| Entry.new(d, fate_of(d)) }.freeze
    end

    def strategy
      options[:strategy]
    end

    def inherited
      descriptors.select { |e| e.fate == :inherited }.map(&:descriptor)
    end

    def withheld
      descriptors.select { |e| e.fate == :withheld }.map(&:descriptor)
    end

    def stdout
      options[:log] ? "#{options[:log]} (appended)" : "/dev/null"
    end

    # Starts the planned command: JRestart.launch with the planned arguments.
    def execute
      JRestart.launch(*command, **options)
    end

    def to_h
      { command: command, path: path, source: source, manager: manager&.to_h, strategy: strategy, session: :new,
        cwd: options[:chdir], stdin: "/dev/null", stdout: stdout, stderr: stdout, signals: :default,
        delay: options[:delay], close: options[:close], env: options[:env],
        unsetenv_others: options[:unsetenv_others],
        descriptors: descriptors.map(&:to_h) }
    end

    def to_s
      rows = [
        ["command", command.join(" ")],
        ["path", path],
        ["chosen by", chosen_by],
        ["strategy", "#{STRATEGIES.fetch(strategy, strategy.inspect)}: new session (setsid), " \
                     "every signal default, none blocked"],
        ["cwd", options[:chdir].to_s],
        ["stdin", "/dev/null"],
        ["stdout", stdout],
        ["stderr", stdout],
        ["delay", options[:delay].zero? ? "none" : "#{options[:delay]} s"],
        ["close", options[:close].inspect]
      ]
      if options[:unsetenv_others]
        rows << ["env", "only #{(options[:env] || {}).inspect} (unsetenv_others: nothing of ENV)"]
      elsif options[:env]
        rows << ["env", "ENV with #{options[:env].inspect} over it"]
      end
      lines = ["JRestart plan (nothing has been done)"]
      lines.concat(rows.map { |label, value| format("  %-10s %s", label, value) })
      lines << "  descriptors:"
      lines << format("    %4s  %-16s %-36s %-34s %s", "fd", "type", "target", "socket", "in the child")
      descriptors.each do |entry|
        d = entry.descriptor
        lines << format("    %4d  %-16s %-36s %-34s %s", d.fd, d.type, tail(d.target, 36), socket(d), fate(entry))
      end
      lines.join("\n")
    end

    private

    def fate_of(descriptor)
      if descriptor.fd <= 2 then :replaced
      elsif @keep.include?(descriptor.fd) then :inherited
      elsif options[:close] == :all || descriptor.socket? then :withheld
      elsif descriptor.close_on_exec? then :close_on_exec
      else :inherited
      end
    end

    def socket(descriptor)
      return "" unless descriptor.socket?

      address = descriptor.local_address.empty? ? "unnamed" : descriptor.local_address
      [descriptor.family, address, ("listening" if descriptor.listening?)].compact.join(" ")
    end

    def fate(entry)
      case entry.fate
      when :replaced then entry.descriptor.fd.zero? ? "/dev/null instead" : "#{options[:log] || "/dev/null"} instead"
      when :close_on_exec then "closed by exec (close-on-exec)"
      else entry.fate.to_s
      end
    end

    def tail(text, width)
      text.size <= width ? text : "…#{text[-(width - 1)..]}"
    end

    def chosen_by
      case source
      when :argument then "the arguments"
      when :setting then "JRestart.command"
      when :environment then "JRESTART_COMMAND"
      when :detected then "detected #{manager.name} (#{manager.evidence.join("; ")})"
      end
    end
  end

  class << self
    # The plan of JRestart.restart! (or launch) with these arguments, without
    # starting anything. Raises what restart! would raise for them.
    def plan(*argv, **options)
      options = launch_options(options)
      raise ArgumentError, "JRestart.plan: the command is nil" if argv.first.nil? && !argv.empty?

      source, manager = :argument, nil
      if argv.empty?
        choice = restart_command || raise(Error, "JRestart.restart! has no command to run: none was given, " \
                                                 "JRestart.command and JRESTART_COMMAND are not set, and no " \
                                                 "service manager was detected (#{Detect.explain})")
        argv, source, manager = choice.to_a
      end
      path = __resolve(argv.first, options[:env], options[:unsetenv_others])
      Plan.new(argv, path, source, manager, options, __keep(options[:keep]))
    end
  end
end
