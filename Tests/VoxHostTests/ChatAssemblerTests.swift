import XCTest
@testable import VoxHost
import VoxPluginKit

/// The streamed chunk's fast path writes the same bytes as the JSONValue it
/// stands for.
final class ChatAssemblerTests: XCTestCase {
    func testContentChunkBytesMatchTheSerializedChunk() throws {
        for includeUsage in [false, true] {
            let a = ChatAssembler(id: "chatcmpl-7", created: 1_730_000_000, model: "openai/gpt-4o-mini", includeUsage: includeUsage)
            for text in ["word0", " word1", "", "quote \" and \\ back", "line\nbreak\ttab\u{1}", "héllo 👋", "{\"delta\":{}}"] {
                let e = ChatEvent.delta(text)
                XCTAssertEqual(String(decoding: a.chunkBytes(for: e), as: UTF8.self), a.chunk(for: e).serialized, "\(text) usage \(includeUsage)")
                let parsed = try JSONValue.parse(Data(a.chunkBytes(for: e)))
                XCTAssertEqual(parsed["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue, text)
            }
        }
    }

    func testRoleChunkBytesMatchTheSerializedChunk() {
        for includeUsage in [false, true] {
            let a = ChatAssembler(id: "chatcmpl-9", created: 2, model: "groq/llama", includeUsage: includeUsage)
            XCTAssertEqual(String(decoding: a.roleChunkBytes(), as: UTF8.self), a.chunk(delta: ChatAssembler.roleDelta).serialized)
        }
    }

    func testToolCallChunkBytesMatchTheSerializedChunk() {
        let a = ChatAssembler(id: "chatcmpl-8", created: 1, model: "m", includeUsage: false)
        let e = ChatEvent.toolCall(index: 0, id: "call_1", name: "get_weather", arguments: "{\"city\":")
        XCTAssertEqual(String(decoding: a.chunkBytes(for: e), as: UTF8.self), a.chunk(for: e).serialized)
    }
}
