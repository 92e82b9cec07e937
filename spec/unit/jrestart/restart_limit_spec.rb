# frozen_string_literal: true

require "tmpdir"

# The restart-loop guard's settings and the record's reason:, as restart!
# and plan read them. Nothing here restarts anything: the guard acts only
# when a restart executes (spec/integration/guard_spec.rb).
RSpec.describe "JRestart.restart_limit" do
  around do |example|
    saved = ENV.delete("JRESTART_LIMIT")
    example.run
  ensure
    JRestart.restart_limit = :default
    saved ? ENV["JRESTART_LIMIT"] = saved : ENV.delete("JRESTART_LIMIT")
  end

  it "is 5 restarts within 900 s by default" do
    expect(JRestart.restart_limit).to eq([5, 900])
    expect(JRestart.plan("/bin/true").restart_limit).to eq([5, 900])
  end

  it "reads JRESTART_LIMIT, COUNT/SECONDS or off" do
    ENV["JRESTART_LIMIT"] = "3/60"
    expect(JRestart.restart_limit).to eq([3, 60])
    ENV["JRESTART_LIMIT"] = "off"
    expect(JRestart.restart_limit).to be_nil
    expect(JRestart.plan("/bin/true").to_s).to match(/^  guard      off/)
  end

  it "lets the Ruby setting win over JRESTART_LIMIT, and :default go back to it" do
    ENV["JRESTART_LIMIT"] = "3/60"
    JRestart.restart_limit = [10, 1.5]
    expect(JRestart.restart_limit).to eq([10, 1.5])
    JRestart.restart_limit = nil
    expect(JRestart.restart_limit).to be_nil
    expect(JRestart.plan("/bin/true").restart_limit).to be_nil
    JRestart.restart_limit = :default
    expect(JRestart.restart_limit).to eq([3, 60])
  end

  it "refuses a JRESTART_LIMIT it cannot read, naming it, in restart!'s plan too" do
    ENV["JRESTART_LIMIT"] = "five"
    message = /JRESTART_LIMIT="five" is not COUNT\/SECONDS \(e\.g\. 5\/900.*\) or off/
    expect { JRestart.restart_limit }.to raise_error(ArgumentError, message)
    expect { JRestart.plan("/bin/true") }.to raise_error(ArgumentError, message)
    ENV["JRESTART_LIMIT"] = "0/60"
    expect { JRestart.plan("/bin/true") }.to raise_error(ArgumentError, /JRESTART_LIMIT="0\/60"/)
  end

  it "refuses a setting that is not [count, seconds], nil or :default" do
    expect { JRestart.restart_limit = 5 }.to raise_error(TypeError, /must be \[count, seconds\], nil \(off\) or :default/)
    expect { JRestart.restart_limit = [5] }.to raise_error(TypeError, /\[count, seconds\]/)
    expect { JRestart.restart_limit = ["5", 900] }.to raise_error(TypeError, /count must be an Integer, got String/)
    expect { JRestart.restart_limit = [5, "900"] }.to raise_error(TypeError, /window must be a number of seconds/)
    expect { JRestart.restart_limit = [0, 900] }.to raise_error(ArgumentError, /count must be an Integer from 1/)
    expect { JRestart.restart_limit = [5, 0] }.to raise_error(ArgumentError, /finite number of seconds > 0/)
    expect { JRestart.restart_limit = [5, Float::INFINITY] }.to raise_error(ArgumentError, /finite/)
    expect(JRestart.restart_limit).to eq([5, 900])
  end

  # Issue 17 item 13: a count beyond a long raised RangeError from the conversion.
  it "refuses a count beyond any limit with the same ArgumentError, not RangeError" do
    expect { JRestart.restart_limit = [2**70, 900] }
      .to raise_error(ArgumentError, /count must be an Integer from 1 to 2147483647, got #{2**70}/)
    expect { JRestart.restart_limit = [-2**70, 900] }.to raise_error(ArgumentError, /from 1 to/)
    expect(JRestart.restart_limit).to eq([5, 900])
  end

  it "is not used by launch, which is no restart" do
    ENV["JRESTART_LIMIT"] = "five"
    expect(JRestart.launch("/bin/true").wait(10)).to be_success
  end
end

RSpec.describe "restart!'s reason:" do
  it "travels in the plan" do
    plan = JRestart.plan("/bin/true", reason: "config changed: port")
    expect(plan.reason).to eq("config changed: port")
    expect(plan.to_h[:reason]).to eq("config changed: port")
    expect(JRestart.plan("/bin/true").reason).to be_nil
  end

  it "is a String of at most 1024 bytes of valid text" do
    expect(JRestart.plan("/bin/true", reason: "é" * 512).reason.bytesize).to eq(1024)
    expect { JRestart.plan("/bin/true", reason: "é" * 513) }
      .to raise_error(ArgumentError, /reason: is 1026 bytes long; at most 1024 are kept/)
    expect { JRestart.plan("/bin/true", reason: :cold) }.to raise_error(TypeError, /reason: must be a String, got Symbol/)
    expect { JRestart.plan("/bin/true", reason: "\xff".b.force_encoding("UTF-8")) }
      .to raise_error(ArgumentError, /reason: is not valid UTF-8 text/)
    expect { JRestart.plan("/bin/true", reason: "a\0b") }.to raise_error(ArgumentError, /NUL/)
  end

  it "is refused by launch, which records nothing" do
    expect { JRestart.launch("/bin/true", reason: "x") }.to raise_error(ArgumentError, /unknown keyword: :reason/)
  end
end

RSpec.describe "JRestart.state_directory" do
  around do |example|
    saved = ENV.to_h.slice("STATE_DIRECTORY", "XDG_STATE_HOME", "HOME")
    Dir.mktmpdir do |dir|
      @dir = dir
      example.run
    end
  ensure
    %w[STATE_DIRECTORY XDG_STATE_HOME HOME].each { |name| saved.key?(name) ? ENV[name] = saved[name] : ENV.delete(name) }
  end

  it "is $STATE_DIRECTORY, else $XDG_STATE_HOME/jrestart, else ~/.local/state/jrestart, created 0700" do
    ENV["STATE_DIRECTORY"] = "#{@dir}/unit:#{@dir}/other"
    expect(JRestart.state_directory(ENV.to_h)).to eq("#{@dir}/unit")
    ENV.delete("STATE_DIRECTORY")
    ENV["XDG_STATE_HOME"] = "#{@dir}/xdg"
    expect(JRestart.state_directory(ENV.to_h)).to eq("#{@dir}/xdg/jrestart")
    expect(File.stat("#{@dir}/xdg/jrestart").mode & 0o777).to eq(0o700)
    ENV.delete("XDG_STATE_HOME")
    ENV["HOME"] = "#{@dir}/home"
    expect(JRestart.state_directory(ENV.to_h)).to eq("#{@dir}/home/.local/state/jrestart")
  end

  it "passes over a directory others can write to, or a symlink, saying so, for the next one" do
    FileUtils.mkdir_p("#{@dir}/shared")
    File.chmod(0o777, "#{@dir}/shared")
    File.symlink("#{@dir}/shared", "#{@dir}/link")
    ENV["STATE_DIRECTORY"] = "#{@dir}/shared"
    ENV["XDG_STATE_HOME"] = "#{@dir}/xdg"
    expect { expect(JRestart.state_directory(ENV.to_h)).to eq("#{@dir}/xdg/jrestart") }
      .to output(%r{jrestart: STATE_DIRECTORY=#{@dir}/shared cannot hold jrestart's restart state: .* is writable by others .*; using #{@dir}/xdg/jrestart instead}).to_stderr
    ENV["STATE_DIRECTORY"] = "#{@dir}/link"
    expect { JRestart.state_directory(ENV.to_h) }.to output(/is a symbolic link; using/).to_stderr
  end
end
