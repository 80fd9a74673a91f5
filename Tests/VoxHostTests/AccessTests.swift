import Foundation
import HTTPTypes
import XCTest
@testable import VoxHost

/// The route table's scopes, and a key's live limits.
final class AccessTests: XCTestCase {
    func testEveryRouteNeedsWhatItShould() {
        typealias R = AccessMiddleware.Requirement
        let table: [(HTTPRequest.Method, String, R)] = [
            (.get, "/v1/health", .open),
            (.post, "/v1/chat/completions", .operation(.chat)),
            (.post, "/v1/audio/speech", .operation(.tts)),
            (.post, "/v1/voices/preview", .operation(.tts)),
            (.post, "/v1/audio/transcriptions", .operation(.stt)),
            (.get, "/v1/audio/transcriptions/stream", .scope(.stt)),
            (.get, "/v1/models", .anyKey), (.get, "/v1/voices", .anyKey), (.get, "/v1/plugins/openai", .anyKey),
            (.get, "/v1/usage", .anyKey), (.get, "/v1/usage/calls", .anyKey), (.get, "/v1/route/explain", .anyKey),
            (.post, "/v1/voices", .scope(.configWrite)),
            (.get, "/v1/status", .scope(.configRead)),
            (.get, "/v1/prompts", .scope(.configRead)), (.post, "/v1/prompts/p1/render", .scope(.configRead)),
            (.get, "/v1/templates/t1/resolve", .scope(.configRead)), (.post, "/v1/templates/validate", .scope(.configRead)),
            (.get, "/v1/session-configs/c1/export", .scope(.configRead)),
            (.post, "/v1/prompts", .scope(.configWrite)), (.patch, "/v1/templates/t1", .scope(.configWrite)),
            (.delete, "/v1/session-configs/c1", .scope(.configWrite)), (.post, "/v1/session-configs/import", .scope(.configWrite)),
            (.put, "/v1/defaults", .scope(.configWrite)),
            (.get, "/v1/keys", .scope(.admin)), (.post, "/v1/keys", .scope(.admin)), (.delete, "/v1/keys/k1", .scope(.admin)),
            (.get, "/v1/audit", .scope(.admin)), (.get, "/metrics", .scope(.admin)), (.post, "/v1/reload", .scope(.admin)),
            (.post, "/v1/plugins/openai/enable", .scope(.admin)),
            (.get, "/v1/something-new", .scope(.admin)),  // closed until placed in the table
        ]
        for (method, path, want) in table {
            XCTAssertEqual(AccessMiddleware.requirement(method, path), want, "\(method) \(path)")
        }
    }

    func testTheMinuteWindowAndStreamSlots() {
        let ring = KeyRing()
        let k = APIKey(id: "key_00000000000000aa", name: "k", scopes: [.chat], requestsPerMinute: 2, concurrentStreams: 1,
                       salt: "", hash: "", version: 1)
        let t = Date(timeIntervalSince1970: 1_800_000_000) // a minute boundary
        XCTAssertEqual(ring.admit(k, now: t)?.admitted, true)
        XCTAssertEqual(ring.admit(k, now: t.addingTimeInterval(10))?.limit.remaining, 0)
        let third = ring.admit(k, now: t.addingTimeInterval(20))
        XCTAssertEqual(third?.admitted, false)
        XCTAssertEqual(third?.limit.resetSeconds, 40)
        XCTAssertEqual(ring.admit(k, now: t.addingTimeInterval(60))?.admitted, true, "a new minute, a new window")

        var slot = try? ring.acquireStream(k)
        XCTAssertNotNil(slot)
        XCTAssertThrowsError(try ring.acquireStream(k))
        slot = nil  // dropped without free(): released all the same
        XCTAssertEqual(ring.streamsInFlight(k.id), 0)
        // Freeing twice gives back one slot, not another holder's.
        var two = k
        two.id = "key_00000000000000bb"
        two.concurrentStreams = 2
        let a = try? ring.acquireStream(two), b = try? ring.acquireStream(two)
        a?.free()
        a?.free()
        XCTAssertEqual(ring.streamsInFlight(two.id), 1, "b still holds its slot")
        b?.free()
        XCTAssertEqual(ring.streamsInFlight(two.id), 0)
        _ = slot
    }
}
