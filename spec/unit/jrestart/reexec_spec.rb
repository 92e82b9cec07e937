# frozen_string_literal: true

require "tmpdir"

# Only failing re-execs can run in the spec process itself; the successful
# ones are in spec/integration/reexec_spec.rb.
RSpec.describe "JRestart.reexec! when the exec fails" do
  def fd_flags
    Dir.children("/proc/self/fd").filter_map do |fd|
      [fd.to_i, File.read("/proc/self/fdinfo/#{fd}")[/^flags:\s*(\d+)/, 1]]
    rescue SystemCallError
      nil
    end.to_h
  end

  it "raises Errno::ENOEXEC for a file execve refuses, and undoes every close-on-exec flag it set" do
    Dir.mktmpdir do |dir|
      bogus = File.join(dir, "not-a-program")
      File.binwrite(bogus, "\x7fELF but not really\0\1\2")
      File.chmod(0o755, bogus)
      server = TCPServer.new("127.0.0.1", 0)
      before = fd_flags
      sigign = File.read("/proc/self/status")[/^SigIgn:\s*(\S+)/, 1]

      expect { JRestart.reexec!([bogus]) }.to raise_error(Errno::ENOEXEC, /#{bogus}/)

      after = fd_flags
      common = before.keys & after.keys # the JVM opens and closes files of its own meanwhile
      expect(common).to include(server.fileno, 3)
      expect(after.slice(*common)).to eq(before.slice(*common))
      expect(File.read("/proc/self/status")[/^SigIgn:\s*(\S+)/, 1]).to eq(sigign)
      expect(JRestart.socket?(server)).to be(true)
    ensure
      server&.close
    end
  end

  it "raises Errno::ENOENT for a missing program, before changing anything" do
    expect { JRestart.reexec!(["/nonexistent/jrestart-java"]) }.to raise_error(Errno::ENOENT, %r{/nonexistent/jrestart-java})
  end

  it "checks its arguments" do
    expect { JRestart.reexec!("java") }.to raise_error(TypeError, /argv must be an Array/)
    expect { JRestart.reexec!([]) }.to raise_error(ArgumentError, /must not be empty/)
    expect { JRestart.reexec!(["/bin/true", 1]) }.to raise_error(TypeError, /argv\[1\]/)
    expect { JRestart.reexec!(["/bin/true"], keep: [65_000]) }.to raise_error(Errno::EBADF, /65000/)
    expect { JRestart.reexec!(["/bin/true"], env: "A=1") }.to raise_error(TypeError, /env:/)
  end
end
