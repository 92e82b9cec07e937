package org.jrestart.core.host;

import org.jrestart.core.posix.JRestartException;
import org.jrestart.core.posix.Proc;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Whether the machine (and the service's cgroup) can hold a second JVM the
 * size of this one while both run, checked before an overlap restart starts
 * anything: a new JVM killed by the OOM killer half-way, or one that makes
 * the kernel kill the old one, is worse than a restart with a stall.
 */
public final class HeadRoom {
    private static final long MIB = 1024 * 1024;
    /** A cgroup v1 limit at or above this is "no limit" (the kernel's page-rounded LONG_MAX). */
    private static final long UNLIMITED = Long.MAX_VALUE / 2;

    private HeadRoom() {
    }

    /**
     * Refuses when the room left (MemAvailable, and each memory limit of the
     * cgroup path in cgroup, less its use) is less than what this JVM has
     * committed (heap and non-heap), saying every figure.
     */
    public static void check(String cgroup) throws JRestartException {
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        MemoryUsage nonHeap = ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage();
        long needed = heap.getCommitted() + nonHeap.getCommitted();
        List<String> figures = new ArrayList<String>();
        long room = Long.MAX_VALUE;
        long available = memAvailable();
        if (available >= 0) {
            room = available;
            figures.add("MemAvailable " + mib(available));
        }
        for (long[] limit : cgroupLimits(cgroup, figures)) room = Math.min(room, Math.max(0, limit[0] - limit[1]));
        if (room >= needed) return;
        throw JRestartException.state("overlap restart refused: a second JVM needs about " + mib(needed)
                + " (this JVM's committed heap " + mib(heap.getCommitted()) + " of -Xmx "
                + (heap.getMax() < 0 ? "unlimited" : mib(heap.getMax())) + ", non-heap " + mib(nonHeap.getCommitted())
                + "), but only " + mib(room) + " are free (" + String.join("; ", figures) + "). restart! without"
                + " overlap: restarts with one JVM at a time");
    }

    private static long memAvailable() {
        String meminfo = Proc.read("/proc/meminfo");
        if (meminfo == null) return -1;
        for (String line : meminfo.split("\n")) {
            if (line.startsWith("MemAvailable:")) {
                String[] words = line.substring("MemAvailable:".length()).trim().split("\\s+");
                try {
                    return Long.parseLong(words[0]) * 1024;
                } catch (NumberFormatException e) {
                    return -1;
                }
            }
        }
        return -1;
    }

    /**
     * [limit, usage] of every memory cgroup from the service's up to the
     * root that has a limit (cgroup v2 memory.max/current, v1
     * memory.limit_in_bytes/usage_in_bytes); each is added to figures.
     */
    private static List<long[]> cgroupLimits(String cgroup, List<String> figures) {
        List<long[]> limits = new ArrayList<long[]>();
        if (cgroup == null) return limits;
        for (String line : cgroup.split("\n")) {
            String[] parts = line.split(":", 3);
            if (parts.length < 3) continue;
            String base;
            String max;
            String current;
            if (parts[0].equals("0") && parts[1].isEmpty()) {
                base = "/sys/fs/cgroup";
                max = "memory.max";
                current = "memory.current";
            } else if (("," + parts[1] + ",").contains(",memory,")) {
                base = "/sys/fs/cgroup/memory";
                max = "memory.limit_in_bytes";
                current = "memory.usage_in_bytes";
            } else {
                continue;
            }
            for (String path = parts[2]; ; path = path.substring(0, Math.max(0, path.lastIndexOf('/')))) {
                String dir = base + (path.equals("/") ? "" : path);
                long limit = number(Proc.read(dir + "/" + max));
                long usage = number(Proc.read(dir + "/" + current));
                if (limit >= 0 && limit < UNLIMITED && usage >= 0) {
                    limits.add(new long[] {limit, usage});
                    figures.add("cgroup " + dir + " " + max + " " + mib(limit) + ", " + current + " " + mib(usage));
                }
                if (path.isEmpty() || path.equals("/")) break;
            }
        }
        return limits;
    }

    /** A cgroup file's number; -1 for "max", a missing file or anything else. */
    private static long number(String text) {
        if (text == null) return -1;
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%d MiB", bytes / MIB);
    }
}
