# frozen_string_literal: true

require "socket"

module JRestartSpec
  # What the listener options must refuse, for the services the listener specs run.
  module BadDescriptors
    module_function

    # Yields a closed TCPServer, a File, a connected TCPSocket and a bound UDPSocket on host; closes them after.
    def each_kind(host)
      closed = TCPServer.new(host, 0).tap(&:close)
      file = File.open(__FILE__)
      peer = TCPServer.new(host, 0)
      connected = TCPSocket.new(host, peer.addr[1])
      udp = UDPSocket.new.tap { |s| s.bind(host, 0) }
      yield [closed, file, connected, udp]
    ensure
      [file, peer, connected, udp].each { |io| io&.close }
    end

    # What reexec! raises for each of those given as option (and for extra values), as "Class: message".
    def refusals(host, option, extra = [])
      each_kind(host) do |ios|
        (ios + extra).map do |value|
          JRestart.reexec!(option => yield(value))
          "exec returned"
        rescue StandardError => e
          "#{e.class}: #{e.message}"
        end
      end
    end
  end
end
