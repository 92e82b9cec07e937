package org.jrestart.core;

import jnr.constants.platform.OpenFlags;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * A restart command that fails at once (systemctl's "Access denied", sv's
 * "unable to control", supervisorctl's "ERROR") must not pass for a restart
 * in progress: restart waits up to WINDOW_MS for it and throws with its exit
 * status and output when it fails, while the service is still untouched. A
 * command still running then, or done with status 0, is doing its job.
 */
final class FailFast {
    /** How long restart watches the command; the README's restart! section says so too. */
    public static final long WINDOW_MS = 2000;
    private static final int OUTPUT_LIMIT = 4096;
    private static final int MFD_CLOEXEC = 1;
    private static final int O_RDONLY = OpenFlags.O_RDONLY.intValue();
    private static final int O_NOFOLLOW = OpenFlags.O_NOFOLLOW.intValue();
    private static final int O_CLOEXEC = OpenFlags.O_CLOEXEC.intValue();

    private FailFast() {
    }

    /** listener, when not null, learns the command's exit status if it ends while it is watched. */
    public static Child launch(LaunchRequest request, ExitListener listener) throws JRestartException {
        // The output is read from where it goes: an anonymous file without a log, else the log past its end now.
        int capture = request.log == null && Native.MEMFD != null
                ? Native.MEMFD.memfd_create(Native.cString("jrestart-restart-output"), MFD_CLOEXEC) : -1;
        long offset = request.log == null ? 0 : size(request.log);
        try {
            Child child = Launcher.launch(request, capture);
            try {
                if (!child.await(TimeUnit.MILLISECONDS.toNanos(WINDOW_MS))) return child;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return child;
            }
            int status = child.status();
            if (listener != null) listener.exited(status);
            if (status == 0) return child;
            String output = capture >= 0 ? read(capture, 0) : request.log == null ? "" : readLog(request.log, offset);
            throw JRestartException.state("the restart command " + Native.text(request.command.get(0)) + " failed at once ("
                    + describe(status) + "); the service was left as it was" + (output.isEmpty() ? "" : ". Its output: "
                    + output));
        } finally {
            if (capture >= 0) Native.LIBC.close(capture);
        }
    }

    private static String describe(int status) {
        if ((status & 0x7f) == 0) return "exit status " + ((status >> 8) & 0xff);
        return "killed by signal " + (status & 0x7f);
    }

    private static long size(byte[] log) {
        int fd = open(log);
        if (fd < 0) return 0;
        try {
            return Descriptors.fstat(fd).size;
        } catch (JRestartException e) {
            return 0;
        } finally {
            Native.LIBC.close(fd);
        }
    }

    private static String readLog(byte[] log, long offset) {
        int fd = open(log);
        if (fd < 0) return "";
        try {
            return read(fd, offset);
        } finally {
            Native.LIBC.close(fd);
        }
    }

    private static int open(byte[] log) {
        try {
            return Native.LIBC.open(Native.cString(log, "log"), O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
        } catch (JRestartException e) {
            return -1;
        }
    }

    /** Up to OUTPUT_LIMIT bytes of fd from offset, trimmed. */
    private static String read(int fd, long offset) {
        Pointer buffer = Memory.allocateDirect(Native.RUNTIME, OUTPUT_LIMIT, true);
        long n = Native.LIBC.pread(fd, buffer, OUTPUT_LIMIT, offset);
        if (n <= 0) return "";
        byte[] bytes = new byte[(int) n];
        buffer.get(0, bytes, 0, bytes.length);
        return new String(bytes, StandardCharsets.UTF_8).trim();
    }
}
