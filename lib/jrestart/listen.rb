# frozen_string_literal: true

require "socket"

module JRestart
  # A listener this JVM inherited: from the JVM it replaced in place
  # (JRESTART_LISTENERS) or from systemd's socket activation (LISTEN_FDS).
  # name is systemd's FileDescriptorName=, or nil; adopted? says whether
  # JRestart.listen (or the Java facade) took it.
  Listener = Struct.new(:fd, :host, :port, :name, :adopted) do
    def adopted?
      adopted
    end
  end

  class << self
    # A TCPServer listening on host:port: the listener the previous JVM
    # handed over for that address (or systemd's, socket activation), else a
    # new one, bound as TCPServer.new binds (Errno::EADDRINUSE when the port
    # is taken). Its listen queue is set to backlog natively (JRuby's own
    # stays at 50). Every exec in place (reexec!, restart! in place) hands it
    # to the next JVM, where the same call adopts it: connections made during
    # the restart wait in the queue instead of being refused.
    def listen(host, port, backlog: 1024)
      TCPServer.for_fd(__listen(host, port, backlog))
    end

    # The listeners this JVM inherited, adopted or not (JRestart::Listener).
    def listeners
      __listeners.map { |fields| Listener.new(*fields).freeze }
    end
  end
end
