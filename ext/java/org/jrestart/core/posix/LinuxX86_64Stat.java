package org.jrestart.core.posix;

import jnr.ffi.Runtime;

/** struct stat of glibc on Linux x86_64 (bits/struct_stat.h): 144 bytes. */
final class LinuxX86_64Stat extends StatLayout {
    final Unsigned64 st_dev = new Unsigned64();      // dev_t: device holding the file
    final Unsigned64 st_ino = new Unsigned64();      // ino_t: inode number
    final Unsigned64 st_nlink = new Unsigned64();    // nlink_t: 8 bytes here, and before st_mode
    final Unsigned32 st_mode = new Unsigned32();     // mode_t: type and permission bits
    final Unsigned32 st_uid = new Unsigned32();      // uid_t: owner
    final Unsigned32 st_gid = new Unsigned32();      // gid_t: group
    final Signed32 __pad0 = new Signed32();          // aligns st_rdev to 8 bytes
    final Unsigned64 st_rdev = new Unsigned64();     // dev_t: device number, for device files
    final Signed64 st_size = new Signed64();         // off_t: size in bytes
    final Signed64 st_blksize = new Signed64();      // blksize_t: preferred I/O block size
    final Signed64 st_blocks = new Signed64();       // blkcnt_t: 512-byte blocks allocated
    final Signed64 st_atime_sec = new Signed64();    // struct timespec st_atim: last access
    final Signed64 st_atime_nsec = new Signed64();
    final Signed64 st_mtime_sec = new Signed64();    // struct timespec st_mtim: last modification
    final Signed64 st_mtime_nsec = new Signed64();
    final Signed64 st_ctime_sec = new Signed64();    // struct timespec st_ctim: last status change
    final Signed64 st_ctime_nsec = new Signed64();
    final Signed64[] __glibc_reserved = array(new Signed64[3]); // reserved for future use

    LinuxX86_64Stat(Runtime runtime) {
        super(runtime);
    }

    @Override
    int mode() {
        return (int) st_mode.get();
    }

    @Override
    int statVersion() {
        return 1;
    }

    @Override
    Stat toStat() {
        return new Stat(st_dev.get(), st_ino.get(), (int) st_mode.get(), st_nlink.get(),
                (int) st_uid.get(), (int) st_gid.get(), st_rdev.get(), st_size.get(),
                st_blksize.get(), st_blocks.get(), st_atime_sec.get(), st_atime_nsec.get(),
                st_mtime_sec.get(), st_mtime_nsec.get(), st_ctime_sec.get(), st_ctime_nsec.get());
    }
}
