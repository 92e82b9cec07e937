package org.jrestart.ruby;

import org.jrestart.core.posix.FileType;
import org.jrestart.core.posix.Stat;
import org.jruby.Ruby;
import org.jruby.RubyClass;
import org.jruby.RubyModule;
import org.jruby.RubyObject;
import org.jruby.anno.JRubyClass;
import org.jruby.anno.JRubyMethod;
import org.jruby.runtime.ObjectAllocator;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;

/** JRestart::Stat: one fstat result, with File::Stat's names for its fields. */
@JRubyClass(name = "JRestart::Stat")
public final class RubyStat extends RubyObject {
    private static final long serialVersionUID = 1L;

    private transient Stat stat;

    private RubyStat(Ruby runtime, RubyClass type) {
        super(runtime, type);
    }

    static RubyClass createStatClass(Ruby runtime, RubyModule jrestart) {
        RubyClass stat = jrestart.defineClassUnder("Stat", runtime.getObject(), ObjectAllocator.NOT_ALLOCATABLE_ALLOCATOR);
        stat.defineAnnotatedMethods(RubyStat.class);
        return stat;
    }

    static RubyStat newStat(ThreadContext context, Stat stat) {
        RubyClass type = (RubyClass) context.runtime.getModule("JRestart").getConstantAt("Stat");
        RubyStat result = new RubyStat(context.runtime, type);
        result.stat = stat;
        return result;
    }

    private IRubyObject time(ThreadContext context, long sec, long nsec) {
        Ruby runtime = context.runtime;
        return runtime.getTime().callMethod(context, "at", new IRubyObject[] {
                runtime.newFixnum(sec), runtime.newFixnum(nsec), runtime.newSymbol("nsec") });
    }

    @JRubyMethod
    public IRubyObject dev(ThreadContext context) {
        return Convert.unsigned(context.runtime, stat.dev);
    }

    @JRubyMethod
    public IRubyObject ino(ThreadContext context) {
        return Convert.unsigned(context.runtime, stat.ino);
    }

    @JRubyMethod
    public IRubyObject mode(ThreadContext context) {
        return context.runtime.newFixnum(stat.mode & 0xffffffffL);
    }

    @JRubyMethod
    public IRubyObject nlink(ThreadContext context) {
        return Convert.unsigned(context.runtime, stat.nlink);
    }

    @JRubyMethod
    public IRubyObject uid(ThreadContext context) {
        return context.runtime.newFixnum(stat.uid & 0xffffffffL);
    }

    @JRubyMethod
    public IRubyObject gid(ThreadContext context) {
        return context.runtime.newFixnum(stat.gid & 0xffffffffL);
    }

    @JRubyMethod
    public IRubyObject rdev(ThreadContext context) {
        return Convert.unsigned(context.runtime, stat.rdev);
    }

    @JRubyMethod
    public IRubyObject size(ThreadContext context) {
        return context.runtime.newFixnum(stat.size);
    }

    @JRubyMethod
    public IRubyObject blksize(ThreadContext context) {
        return context.runtime.newFixnum(stat.blksize);
    }

    @JRubyMethod
    public IRubyObject blocks(ThreadContext context) {
        return context.runtime.newFixnum(stat.blocks);
    }

    @JRubyMethod
    public IRubyObject atime(ThreadContext context) {
        return time(context, stat.atimeSec, stat.atimeNsec);
    }

    @JRubyMethod
    public IRubyObject mtime(ThreadContext context) {
        return time(context, stat.mtimeSec, stat.mtimeNsec);
    }

    @JRubyMethod
    public IRubyObject ctime(ThreadContext context) {
        return time(context, stat.ctimeSec, stat.ctimeNsec);
    }

    /** :file, :directory, :socket, :fifo, :character_device, :block_device, :symlink (or :unknown). */
    @JRubyMethod
    public IRubyObject type(ThreadContext context) {
        return context.runtime.newSymbol(stat.type().label());
    }

    private IRubyObject is(ThreadContext context, FileType type) {
        return context.runtime.newBoolean(stat.type() == type);
    }

    @JRubyMethod(name = "file?")
    public IRubyObject file_p(ThreadContext context) {
        return is(context, FileType.FILE);
    }

    @JRubyMethod(name = "directory?")
    public IRubyObject directory_p(ThreadContext context) {
        return is(context, FileType.DIRECTORY);
    }

    @JRubyMethod(name = "socket?")
    public IRubyObject socket_p(ThreadContext context) {
        return is(context, FileType.SOCKET);
    }

    @JRubyMethod(name = { "fifo?", "pipe?" })
    public IRubyObject fifo_p(ThreadContext context) {
        return is(context, FileType.FIFO);
    }

    @JRubyMethod(name = { "character_device?", "chardev?" })
    public IRubyObject chardev_p(ThreadContext context) {
        return is(context, FileType.CHARACTER_DEVICE);
    }

    @JRubyMethod(name = { "block_device?", "blockdev?" })
    public IRubyObject blockdev_p(ThreadContext context) {
        return is(context, FileType.BLOCK_DEVICE);
    }

    @JRubyMethod(name = "symlink?")
    public IRubyObject symlink_p(ThreadContext context) {
        return is(context, FileType.SYMLINK);
    }

    @JRubyMethod
    public IRubyObject inspect(ThreadContext context) {
        return context.runtime.newString(String.format("#<JRestart::Stat %s dev=%d ino=%d mode=0%o nlink=%d uid=%d gid=%d size=%d>",
                stat.type().label(), stat.dev, stat.ino, stat.mode, stat.nlink, stat.uid & 0xffffffffL,
                stat.gid & 0xffffffffL, stat.size));
    }
}
