# frozen_string_literal: true

# Random calls to every public method with values of every type, size and
# encoding, in a service that must come out of it serving, with the same
# descriptors and no child left. HOSTILE_SEED=n repeats a run.
RSpec.describe "JRestart fed hostile input" do
  before(:all) { @service = JRestartSpec::Processes::Service.new }
  after(:all) { @service&.stop }

  it "raises only documented exceptions over 10,000 random calls, and the service is unharmed" do
    seed = Integer(ENV.fetch("HOSTILE_SEED") { Random.new_seed % (2**31) })
    before = @service.call("census")
    result = @service.call("hostile", seed: seed, calls: 10_000)
    expect(result["calls"]).to eq(10_000), "seed #{seed} (rerun with HOSTILE_SEED=#{seed}): #{result}"
    expect(result["unexpected"]).to eq([]), "seed #{seed} (rerun with HOSTILE_SEED=#{seed}): #{result["unexpected"]}"
    after = wait_until(timeout: 60, message: "reapers to finish") do
      census = @service.call("census")
      census if census["reapers"].zero?
    end
    expect(own_targets(after["fds"])).to eq(own_targets(before["fds"])), "seed #{seed}"
    expect(children_of(@service.pid)).to eq([])
    expect(@service.serving_pid).to eq(@service.pid)
    puts "\n    seed #{seed}: #{result["outcomes"].sort.map { |k, v| "#{k} #{v}" }.join(", ")}"
  end
end
