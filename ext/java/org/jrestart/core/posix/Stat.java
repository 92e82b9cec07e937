package org.jrestart.core.posix;

/** A copy of one struct stat, independent of the ABI it was read with. */
public final class Stat {
    public final long dev, ino, nlink, rdev, size, blksize, blocks;
    public final int mode, uid, gid;
    public final long atimeSec, atimeNsec, mtimeSec, mtimeNsec, ctimeSec, ctimeNsec;
    // Set by Descriptors.fstat for an anonymous inode, which the mode alone cannot name.
    FileType anonymous;

    Stat(long dev, long ino, int mode, long nlink, int uid, int gid, long rdev, long size,
         long blksize, long blocks, long atimeSec, long atimeNsec, long mtimeSec, long mtimeNsec,
         long ctimeSec, long ctimeNsec) {
        this.dev = dev;
        this.ino = ino;
        this.mode = mode;
        this.nlink = nlink;
        this.uid = uid;
        this.gid = gid;
        this.rdev = rdev;
        this.size = size;
        this.blksize = blksize;
        this.blocks = blocks;
        this.atimeSec = atimeSec;
        this.atimeNsec = atimeNsec;
        this.mtimeSec = mtimeSec;
        this.mtimeNsec = mtimeNsec;
        this.ctimeSec = ctimeSec;
        this.ctimeNsec = ctimeNsec;
    }

    public FileType type() {
        return anonymous != null ? anonymous : FileType.fromMode(mode);
    }
}
