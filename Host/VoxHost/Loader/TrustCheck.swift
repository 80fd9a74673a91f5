import Crypto
import Foundation

/// The checks made on a plugin file before it is ever mapped, in the manner of
/// sshd's StrictModes: the file is a regular file, and neither it nor its
/// folder is writable by group or others, nor owned by a user other than
/// root or voxd's own.
enum TrustCheck {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func check(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))") }
        if (st.st_mode & S_IFMT) == S_IFLNK {
            // Follow one link, then check the target the same way.
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) else {
                throw Failure(description: "\(path): unreadable symbolic link")
            }
            let resolved = target.hasPrefix("/") ? target : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(target)
            return try check(resolved)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw Failure(description: "\(path): not a regular file") }
        try checkOwnerAndMode(st, what: "file", path: path, plugin: path)
        let dir = (path as NSString).deletingLastPathComponent
        var dst = stat()
        guard stat(dir.isEmpty ? "." : dir, &dst) == 0 else { throw Failure(description: "\(dir): \(String(cString: strerror(errno)))") }
        try checkOwnerAndMode(dst, what: "folder", path: dir, plugin: path)
    }

    private static func checkOwnerAndMode(_ st: stat, what: String, path: String, plugin: String) throws {
        let prefix = what == "folder" ? "\(plugin): " : ""
        if st.st_mode & (S_IWGRP | S_IWOTH) != 0 {
            throw Failure(description: "\(prefix)\(what) \(path) is writable by \(st.st_mode & S_IWOTH != 0 ? "others" : "its group") (mode \(String(st.st_mode & 0o777, radix: 8))); refusing to load code anyone else can change (chmod go-w)")
        }
        if st.st_uid != 0 && st.st_uid != getuid() {
            throw Failure(description: "\(prefix)\(what) \(path) is owned by uid \(st.st_uid), neither root nor voxd's uid \(getuid())")
        }
    }

    /// Device, inode, size and modification time: if these match, the file is
    /// the one that was hashed, and a reload need not read it again.
    struct Fingerprint: Equatable, Sendable {
        var device: UInt64, inode: UInt64, size: Int64, mtimeSeconds: Int, mtimeNanoseconds: Int

        init?(path: String) {
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int64(st.st_size)
            mtimeSeconds = st.st_mtim.tv_sec
            mtimeNanoseconds = st.st_mtim.tv_nsec
        }
    }

    /// SHA-256 of a file, hex, read in 1 MiB pieces.
    static func sha256(of path: String) throws -> String {
        guard let h = FileHandle(forReadingAtPath: path) else { throw Failure(description: "\(path): cannot open") }
        defer { try? h.close() }
        var hasher = SHA256()
        while let d = try h.read(upToCount: 1 << 20), !d.isEmpty { hasher.update(data: d) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
