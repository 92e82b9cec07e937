# frozen_string_literal: true

require "fileutils"
require "tmpdir"

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

    # argv for another user (setpriv) to run: lib/, the directory of script
    # and every jar argv names are copied into a new directory anyone can
    # read, since the work tree may sit where that user cannot (/root), and
    # argv points into it. Returns [argv, the directory]; the caller removes it.
    # The JVM gets a java.io.tmpdir of its own there: JRuby copies jars it
    # loads to /tmp/jruby-PID, and one left by a root JVM with the same pid
    # (pids wrap at pid_max; a JVM that execs or is killed leaves its own)
    # would refuse that user ("BUG: we can not copy embedded jar").
    def readable_copy(argv, script)
      copy = Dir.mktmpdir("jrestart-unprivileged")
      File.chmod(0o755, copy)
      FileUtils.cp_r([LIB, File.dirname(script)], copy)
      tmp = FileUtils.mkdir_p(File.join(copy, "tmp")).first
      launcher = command.first
      at = argv.index(launcher) or raise ArgumentError, "#{launcher} is not in #{argv.inspect}"
      option = "-Djava.io.tmpdir=#{tmp}"
      argv = [*argv[0..at], launcher == RbConfig.ruby ? "-J#{option}" : option, *argv[at + 1..]]
      argv = argv.map do |word|
        if word == LIB then File.join(copy, "lib")
        elsif word == script then File.join(copy, File.basename(File.dirname(script)), File.basename(script))
        elsif word.end_with?(".jar")
          FileUtils.cp(word, copy)
          File.join(copy, File.basename(word))
        else word
        end
      end
      FileUtils.chmod_R("a+rX", copy)
      File.chmod(0o1777, tmp)
      [argv, copy]
    end
  end
end
