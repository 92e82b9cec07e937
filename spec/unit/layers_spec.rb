# frozen_string_literal: true

require "spec_helper"

# The Java core's layers look only down: posix <- launch <- host, history <-
# hooks; posix <- listen; posix, launch, host <- stop; hooks, listen, stop <-
# org.jrestart.core (Plan) <- the binding and the facade. A class that names a
# higher layer (an import, or a fully qualified name) breaks that, and so does
# a core class that imports JRuby.
RSpec.describe "the Java core's layers" do
  core = File.expand_path("../../ext/java/org/jrestart/core", __dir__)
  allowed = {
    "posix" => [],
    "launch" => %w[posix],
    "host" => %w[posix launch],
    "history" => %w[posix launch],
    "hooks" => %w[posix launch host history],
    "listen" => %w[posix],
    "stop" => %w[posix launch host],
    "core" => %w[posix launch host history hooks listen stop]
  }

  sources = Dir.glob(File.join(core, "**", "*.java")).to_h do |path|
    layer = File.dirname(path) == core ? "core" : File.basename(File.dirname(path))
    [path, layer]
  end

  def named_layers(text)
    code = text.gsub(%r{/\*.*?\*/}m, "").gsub(%r{//[^\n]*}, "").gsub(/"(?:\\.|[^"\\\n])*"/, '""')
    code.scan(/\borg\.jrestart\.core(?:\.(posix|launch|host|history|hooks|listen|stop))?\.[A-Z]\w*/)
        .map { |(layer)| layer || "core" }.uniq
  end

  it "puts every core class in one of the layers" do
    expect(sources.values.uniq.sort).to eq(allowed.keys.sort)
  end

  allowed.each do |layer, below|
    it "lets #{layer} name only #{below.empty? ? "nothing above the JDK and jnr" : below.join(", ")}" do
      offences = sources.select { |_, l| l == layer }.flat_map do |path, _|
        (named_layers(File.read(path)) - below - [layer]).map { |other| "#{File.basename(path)} names #{other}" }
      end
      expect(offences).to be_empty
    end
  end

  it "keeps JRuby out of the core" do
    expect(sources.keys.select { |path| File.read(path).match?(/^import org\.jruby\./) }).to be_empty
  end
end
