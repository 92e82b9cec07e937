# frozen_string_literal: true

require "spec_helper"

# The count of starts against a systemd unit's start limit (issue 17 item
# 12), in a real runtime directory: a restart that did not happen takes back
# its own start, not whichever was counted last by another restart of the
# same unit in between.
RSpec.describe "the start count against a unit's start limit" do
  around do |example|
    Dir.mktmpdir("jrestart-starts-") do |dir|
      @runtime = dir
      example.run
    end
  end

  def count(burst: 5)
    environment = java.util.HashMap.new
    environment.put("XDG_RUNTIME_DIR", @runtime)
    Java::OrgJrestartCoreHistory::StartCount.new("demo.service", true, burst, 60_000_000, environment)
  end

  def counted
    files = Dir.glob(File.join(@runtime, "jrestart", "*.starts"))
    expect(files.size).to eq(1), files.inspect
    File.readlines(files.first, chomp: true).grep(/\A\d+\z/).map { |line| Integer(line) }
  end

  it "takes back only its own start when another was counted after it" do
    now = Java::OrgJrestartCoreHost::Notify.monotonicMicros
    first = count
    second = count
    first.claim(now)
    second.claim(now + 1000)
    expect(counted).to eq([now, now + 1000])

    first.release
    expect(counted).to eq([now + 1000])
    second.release
    expect(counted).to eq([])
  end

  it "refuses a restart that would be one start too many, naming the limit" do
    now = Java::OrgJrestartCoreHost::Notify.monotonicMicros
    count(burst: 2).claim(now)
    expect { count(burst: 2).claim(now + 1) }.to raise_error(Java::OrgJrestartCorePosix::JRestartException,
                                                             /StartLimitBurst=2/)
    expect(counted).to eq([now])
  end
end
