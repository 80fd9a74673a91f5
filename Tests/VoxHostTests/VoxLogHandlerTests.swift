import Foundation
import Logging
import XCTest
@testable import VoxHost

/// voxd's log lines: StreamLogHandler's format, with the logger's metadata
/// (request ids) rendered only when a line is written.
final class VoxLogHandlerTests: XCTestCase {
    final class Lines: TextOutputStream, @unchecked Sendable {
        let lock = NSLock()
        var text = ""
        func write(_ string: String) { lock.withLock { text += string } }
    }

    func testMetadataReachesTheLineAndTheMessagesOwnWins() {
        let lines = Lines()
        var logger = Logger(label: "voxd") { _ in
            var h = VoxLogHandler(wrapping: StreamLogHandler(label: "voxd", stream: lines))
            h.logLevel = .info
            return h
        }
        logger[metadataKey: "request.id"] = "r-1"
        logger[metadataKey: "provider"] = "openai"
        XCTAssertEqual(logger[metadataKey: "request.id"], "r-1")
        logger.debug("below the level")
        logger.info("served", metadata: ["provider": "groq", "status": "200"])
        logger[metadataKey: "provider"] = nil
        logger.warning("again")
        let out = lines.lock.withLock { lines.text }.split(separator: "\n").map(String.init)
        XCTAssertEqual(out.count, 2, out.joined(separator: "\n"))
        XCTAssertTrue(out[0].contains("info voxd:") && out[0].hasSuffix("served"), out[0])
        XCTAssertTrue(out[0].contains("request.id=r-1") && out[0].contains("provider=groq") && out[0].contains("status=200"), out[0])
        XCTAssertFalse(out[0].contains("openai"), out[0])
        XCTAssertTrue(out[1].contains("request.id=r-1") && !out[1].contains("provider="), out[1])
    }
}
