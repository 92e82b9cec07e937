# frozen_string_literal: true

# `bin/rake bench`: the start-latency, descriptor and restart benchmark (bench/bench.rb says what it measures).
# The C floor and XChart's classpath are built into tmp/bench, never committed.
bench_tmp = File.expand_path("../tmp/bench", __dir__)
floor = File.join(bench_tmp, "spawn_floor")
floor_source = File.expand_path("../bench/spawn_floor.c", __dir__)
chart_pom = File.expand_path("../bench/pom.xml", __dir__)
chart_classpath = File.join(bench_tmp, "xchart.classpath")

file floor => floor_source do
  mkdir_p bench_tmp
  sh "gcc", "-O2", "-Wall", "-Wextra", "-o", floor, floor_source
end

# Maven resolves XChart and its dependencies once; the jars stay in ~/.m2.
file chart_classpath => chart_pom do
  mkdir_p bench_tmp
  sh "mvn", "-B", "-q", "-f", chart_pom, "dependency:build-classpath", "-Dmdep.outputFile=#{chart_classpath}"
end

desc "Benchmark starting a command against heap size, descriptors and a whole restart (QUICK=1: a short look)"
task bench: [:compile, floor, chart_classpath] do
  require_relative "../bench/bench"
  ok = JRestartBench.run(quick: ENV["QUICK"] == "1", xchart_classpath: File.read(chart_classpath).strip.split(":"))
  exit(1) unless ok
end

namespace :bench do
  desc "What a restart costs the clients: refused connects and waits, handover vs rebinding vs init.d vs overlap (ROUNDS=3)"
  task restart: [:compile, chart_classpath] do
    require_relative "../bench/downtime"
    ok = JRestartBench::Downtime.run(rounds: Integer(ENV.fetch("ROUNDS", "3")),
                                     results: File.expand_path("../bench/results", __dir__),
                                     xchart_classpath: File.read(chart_classpath).strip.split(":"))
    exit(1) unless ok
  end
end
