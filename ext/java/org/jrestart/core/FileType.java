package org.jrestart.core;

/** The file type bits of st_mode (S_IFMT), which are the same on every Linux ABI. */
public enum FileType {
    FILE("file", 0100000),
    DIRECTORY("directory", 0040000),
    SOCKET("socket", 0140000),
    FIFO("fifo", 0010000),
    CHARACTER_DEVICE("character_device", 0020000),
    BLOCK_DEVICE("block_device", 0060000),
    SYMLINK("symlink", 0120000),
    UNKNOWN("unknown", -1);

    static final int S_IFMT = 0170000;

    private final String label;
    private final int bits;

    FileType(String label, int bits) {
        this.label = label;
        this.bits = bits;
    }

    /** The name Ruby sees, as a symbol: :file, :socket, ... */
    public String label() {
        return label;
    }

    public static FileType fromMode(int mode) {
        int bits = mode & S_IFMT;
        for (FileType type : values()) {
            if (type.bits == bits) return type;
        }
        return UNKNOWN;
    }

    static boolean isSocket(int mode) {
        return (mode & S_IFMT) == SOCKET.bits;
    }
}
