# frozen_string_literal: true

RSpec.describe "JRestart.command and JRESTART_COMMAND" do
  around do |example|
    saved = ENV.delete("JRESTART_COMMAND")
    example.run
  ensure
    JRestart.command = nil
    saved ? ENV["JRESTART_COMMAND"] = saved : ENV.delete("JRESTART_COMMAND")
  end

  it "splits JRESTART_COMMAND as a shell would, without running a shell" do
    ENV["JRESTART_COMMAND"] = %q(/usr/bin/sv "restart" /etc/service/my\ app '$(id)' `uname`)
    choice = JRestart.restart_command
    expect(choice.source).to eq(:environment)
    expect(choice.command).to eq(["/usr/bin/sv", "restart", "/etc/service/my app", "$(id)", "`uname`"])
  end

  it "refuses a JRESTART_COMMAND that cannot be split" do
    ENV["JRESTART_COMMAND"] = %q(/etc/init.d/svc "restart)
    expect { JRestart.restart_command }.to raise_error(ArgumentError, /JRESTART_COMMAND=.*cannot be split/)
  end

  it "lets JRestart.command= win over JRESTART_COMMAND, and nil unset it" do
    ENV["JRESTART_COMMAND"] = "/etc/init.d/from-env restart"
    JRestart.command = ["/etc/init.d/from-ruby", "restart"]
    expect(JRestart.restart_command.to_a).to eq([["/etc/init.d/from-ruby", "restart"], :setting, nil])
    expect(JRestart.command).to be_frozen
    JRestart.command = nil
    expect(JRestart.restart_command.source).to eq(:environment)
  end

  it "checks JRestart.command= values" do
    expect { JRestart.command = "/etc/init.d/svc restart" }.to raise_error(TypeError, /Array of Strings/)
    expect { JRestart.command = [] }.to raise_error(ArgumentError, /empty/)
    expect { JRestart.command = ["/etc/init.d/svc", :restart] }.to raise_error(TypeError, /command\[1\]/)
    expect(JRestart.command).to be_nil
  end

  it "makes restart! with no command raise JRestart::Error saying what it looked at" do
    detected = JRestart.detect
    skip "this host runs under #{detected.name}: restart! would restart it" if detected

    expect { JRestart.restart! }.to raise_error(JRestart::Error, /no command to run.*JRESTART_COMMAND.*ancestors: /)
  end

  it "refuses restart!(nil, ...)" do
    expect { JRestart.restart!(nil, "restart") }.to raise_error(ArgumentError, /command is nil/)
  end
end
