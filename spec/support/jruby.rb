# frozen_string_literal: true

module JRestartSpec
  # Another JRuby like the one running now, for the specs, the demo and the
  # bench: every process they start that runs Ruby starts this way.
  module JRuby
    LIB = File.expand_path("../../lib", __dir__)
    # C1 only: these JVMs live for seconds, so start-up matters more than peak speed.
    FAST_START = "-XX:TieredStopAtLevel=1"

    module_function

    # argv up to the script: this JRuby with jvm_options and lib/ on the load
    # path. An installed JRuby (`bundle exec rake`) goes through its own
    # launcher, which takes JVM options as -J; jruby-complete (`bin/rake`) through
    # this JVM's java with -jar rather than -cp, so that the jar's manifest opens
    # the JDK modules jnr-posix needs. GEM_PATH and JAVA_HOME reach the new
    # JRuby through the environment, which every caller passes on.
    def command(*jvm_options)
      if File.executable?(RbConfig.ruby)
        [RbConfig.ruby, *jvm_options.map { |option| "-J#{option}" }, "-I", LIB]
      else
        jar = java.io.File.new(org.jruby.Ruby.java_class.protection_domain.code_source.location.to_uri).path
        [File.join(ENV_JAVA.fetch("java.home"), "bin", "java"), *jvm_options, "-jar", jar, "-I", LIB]
      end
    end
  end
end
