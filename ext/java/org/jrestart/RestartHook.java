package org.jrestart;

/**
 * Runs before every restart of this service, before anything is started or
 * exec'd (JRestart.onRestart): the place to stop accepting and finish the
 * work in flight. Each hook runs on a thread of its own, in registration
 * order, with the Ruby blocks of JRestart.on_restart in the same list. It has
 * until restart.deadline(): a hook still running then is left behind and the
 * restart goes on. A hook that throws vetoes the restart: nothing is started,
 * the restart-loop guard does not count it, and restart throws a
 * JRestartException of kind VETOED naming the hook and its exception.
 */
public interface RestartHook {
    void beforeRestart(Restart restart) throws Exception;

    /** A hook as registered: remove() takes it out of the process's list. */
    final class Registration {
        private final Object hook;

        Registration(Object hook) {
            this.hook = hook;
        }

        /** Where the hook was registered: the calling method, file and line. */
        public String location() {
            return hook.toString();
        }

        /** Takes the hook out of the list; false when it was removed already. */
        public boolean remove() {
            return org.jrestart.core.hooks.RestartHooks.remove(hook);
        }

        @Override
        public String toString() {
            return "restart hook registered at " + location();
        }
    }
}
