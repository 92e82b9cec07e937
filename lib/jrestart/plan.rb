# frozen_string_literal: true

module JRestart
  # JRestart::Plan is defined by the extension: what a restart will do,
  # decided and checked before anything is done. restart! and launch execute
  # the very plan that JRestart.plan shows.
  class Plan
    # One of this process's descriptors and what becomes of it in the child:
    # :inherited, :withheld (jrestart closes it), :close_on_exec (exec closes
    # it anyway) or :replaced (stdin, stdout, stderr).
    Entry = Struct.new(:descriptor, :fate) do
      def to_h
        descriptor.to_h.merge(fate: fate)
      end
    end
  end

  class << self
    # The plan of JRestart.restart! (or launch) with these arguments, without
    # starting anything. Raises what restart! would raise for them.
    def plan(*argv, **options)
      __plan(argv, options)
    end
  end
end
