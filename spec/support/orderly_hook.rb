# frozen_string_literal: true

require "open3"

module JRestartSpec
  # spec/support/java/OrderlyHook.java, the plain-Java shutdown hooks of
  # spec/support/orderly_service.rb (ORDERLY_HOOK_CLASSES).
  module OrderlyHook
    SOURCE = File.expand_path("java/OrderlyHook.java", __dir__)

    module_function

    def javac
      File.join(ENV_JAVA.fetch("java.home"), "bin", "javac")
    end

    # Why it cannot be compiled here, or nil.
    def skip_reason
      "no javac in #{ENV_JAVA["java.home"]}" unless File.executable?(javac)
    end

    # Compiles it for Java 8 and later into dir.
    def compile(dir)
      out, status = Open3.capture2e(javac, "--release", "8", "-d", dir, SOURCE)
      raise "javac failed:\n#{out}" unless status.success?

      dir
    end
  end
end
