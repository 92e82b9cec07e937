# frozen_string_literal: true

module JRestart
  # A service manager found running this process: its name (:systemd,
  # :supervisord, :runit, :daemontools, :s6), the service as it knows it (a
  # unit, GROUP:NAME, a service directory), the argv that restarts the service
  # through it, and the evidence it was recognised by.
  Manager = Struct.new(:name, :service, :command, :evidence) do
    def to_s
      "#{name} service #{service}: #{command.join(" ")} (#{evidence.join("; ")})"
    end
  end
end
