import Foundation

/// Maps opaque handles given to plugins to host objects, with a generation
/// per slot: a plugin that calls back with a handle after it was released
/// (a broken plugin) gets nil instead of a dangling pointer.
///
/// A handle is `(slot + 1) << 32 | generation`, never 0.
final class HandleTable<Object: AnyObject>: @unchecked Sendable {
    private let lock = NSLock()
    private var objects: [Object?] = []
    private var generations: [UInt32] = []
    private var free: [Int] = []
    /// Who held each slot last (weakly), so a call with a released handle
    /// can still be blamed on its plugin until the slot is reused.
    private var owners: [WeakBox] = []

    private final class WeakBox { weak var value: AnyObject?; init(_ v: AnyObject?) { value = v } }

    func insert(_ object: Object, owner: AnyObject? = nil) -> OpaquePointer {
        lock.withLock {
            let slot: Int
            if let f = free.popLast() { slot = f } else {
                slot = objects.count
                objects.append(nil)
                generations.append(0)
                owners.append(WeakBox(nil))
            }
            generations[slot] &+= 1
            objects[slot] = object
            owners[slot] = WeakBox(owner)
            return OpaquePointer(bitPattern: UInt((slot + 1) << 32) | UInt(generations[slot]))!
        }
    }

    func lookup(_ handle: OpaquePointer) -> Object? {
        let (slot, generation) = Self.split(handle)
        return lock.withLock {
            guard slot >= 0, slot < objects.count, generations[slot] == generation else { return nil }
            return objects[slot]
        }
    }

    /// The owner of a handle that was released (its slot not reused since).
    func releasedOwner(_ handle: OpaquePointer) -> AnyObject? {
        let (slot, generation) = Self.split(handle)
        return lock.withLock {
            guard slot >= 0, slot < objects.count, generations[slot] == generation, objects[slot] == nil else { return nil }
            return owners[slot].value
        }
    }

    func remove(_ handle: OpaquePointer) {
        let (slot, generation) = Self.split(handle)
        lock.withLock {
            guard slot >= 0, slot < objects.count, generations[slot] == generation, objects[slot] != nil else { return }
            objects[slot] = nil
            free.append(slot)
        }
    }

    private static func split(_ handle: OpaquePointer) -> (Int, UInt32) {
        let bits = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle)))
        return (Int(bits >> 32) - 1, UInt32(truncatingIfNeeded: bits))
    }
}
