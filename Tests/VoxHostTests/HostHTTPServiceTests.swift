import AsyncHTTPClient
import NIOCore
import NIOEmbedded
import NIOPosix
import XCTest
@testable import VoxHost

/// Where the host's outbound HTTP lives: a pool per event loop, and one
/// write per request.
final class HostHTTPServiceTests: XCTestCase {
    /// Called on a loop, the service hands out a client whose only loop is
    /// that one, so the exchange's connection is the calling loop's and the
    /// request never crosses threads; called elsewhere, one of the loops.
    func testEachLoopGetsAClientOfItsOwn() throws {
        let url = "http://127.0.0.1:9/x"
        var seen: [ObjectIdentifier] = []
        for loop in HostLoops.group.makeIterator() {
            let client = try loop.submit { HostHTTPService.client(connectTimeoutMs: 0, url: url) }.wait()
            XCTAssertTrue(client.eventLoopGroup === loop, "the client for a loop must run on that loop alone")
            XCTAssertTrue(try loop.submit { HostHTTPService.client(connectTimeoutMs: 0, url: url) }.wait() === client, "one client per loop, reused")
            seen.append(ObjectIdentifier(client))
        }
        XCTAssertEqual(Set(seen).count, seen.count)
        let elsewhere = HostHTTPService.client(connectTimeoutMs: 0, url: url)
        XCTAssertTrue(seen.contains(ObjectIdentifier(elsewhere)))
    }

    /// Request templates: one parse per URL and method (the table grows by
    /// one per new pair, not per call), the URL kept as given, a bad URL
    /// refused and not kept, URLs with a query not kept, the table bounded.
    func testRequestTemplatesAreParsedOncePerURLAndBounded() throws {
        HostHTTPService.forgetTemplates() // earlier tests' fakes left theirs (and a full table clears itself)
        let url = "http://127.0.0.1:9/templates"
        let before = HostHTTPService.templateCount
        let get = try HostHTTPService.template(url: url, method: .GET)
        XCTAssertEqual(get.url.absoluteString, url)
        XCTAssertEqual(get.method, .GET)
        XCTAssertTrue(get.headers.isEmpty)
        XCTAssertNil(get.body)
        XCTAssertEqual(HostHTTPService.templateCount, before + 1)
        for _ in 0..<5 { _ = try HostHTTPService.template(url: url, method: .GET) }
        XCTAssertEqual(HostHTTPService.templateCount, before + 1, "the same URL and method: kept once")
        let post = try HostHTTPService.template(url: url, method: .POST)
        XCTAssertEqual(post.method, .POST)
        XCTAssertEqual(HostHTTPService.templateCount, before + 2)
        XCTAssertThrowsError(try HostHTTPService.template(url: "not a url", method: .GET))
        XCTAssertEqual(HostHTTPService.templateCount, before + 2, "a refused URL is not kept")
        let query = try HostHTTPService.template(url: url + "?key=secret", method: .GET)
        XCTAssertEqual(query.url.absoluteString, url + "?key=secret")
        XCTAssertEqual(HostHTTPService.templateCount, before + 2, "a URL with a query is not kept")
        for i in 0..<(HostHTTPService.templateLimit * 2) { _ = try HostHTTPService.template(url: "http://127.0.0.1:9/\(i)", method: .GET) }
        XCTAssertLessThanOrEqual(HostHTTPService.templateCount, HostHTTPService.templateLimit)
        XCTAssertGreaterThan(HostHTTPService.templateCount, 0)
    }

    /// The clients trace nothing: with a tracer (even the global no-op
    /// one) AsyncHTTPClient builds a span per request. Read through Mirror
    /// since the client keeps its configuration internal; a renamed field
    /// fails here rather than passing unseen.
    func testTheClientsStartNoTracingSpans() throws {
        let client = HostHTTPService.client(connectTimeoutMs: 0, url: "http://127.0.0.1:9/x")
        let tracer = try XCTUnwrap(Mirror(reflecting: client).descendant("configuration", "tracing", "_tracer"),
                                   "AsyncHTTPClient's configuration.tracing._tracer moved")
        XCTAssertTrue(String(describing: tracer) == "nil", "tracer is \(tracer)")
    }

    /// Head, body and end flushed one after another in a tick go out as
    /// one write when the tick's queued work runs — not one write each.
    func testFlushesOfOneTickBecomeOneWrite() throws {
        let channel = EmbeddedChannel(handler: FlushCoalescer())
        defer { _ = try? channel.finish() }
        for part in ["head", "body", "end"] {
            channel.writeAndFlush(ByteBuffer(string: part), promise: nil)
        }
        XCTAssertNil(try channel.readOutbound(as: ByteBuffer.self), "a flush went out before the tick ended")
        channel.embeddedEventLoop.run()
        var out: [String] = []
        while let b = try channel.readOutbound(as: ByteBuffer.self) { out.append(String(buffer: b)) }
        XCTAssertEqual(out, ["head", "body", "end"])
        // The next tick's flush is held and sent again.
        channel.writeAndFlush(ByteBuffer(string: "next"), promise: nil)
        channel.embeddedEventLoop.run()
        XCTAssertEqual(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) }, "next")
    }

    /// A write held for the end of the tick still goes out when the channel
    /// is closed in the same tick (a `Connection: close` answer): over a
    /// real socket, where a close fails the writes not yet flushed.
    func testACloseSendsTheHeldWriteFirst() throws {
        final class Collect: ChannelInboundHandler, @unchecked Sendable {
            typealias InboundIn = ByteBuffer
            var text = ""
            let done: EventLoopPromise<String>
            init(_ done: EventLoopPromise<String>) { self.done = done }
            func channelRead(context: ChannelHandlerContext, data: NIOAny) { text += String(buffer: unwrapInboundIn(data)) }
            func channelInactive(context: ChannelHandlerContext) { done.succeed(text) }
        }
        let loop = HostLoops.group.next()
        let received = loop.makePromise(of: String.self)
        let server = try ServerBootstrap(group: loop)
            .childChannelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collect(received)) } }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        let client = try ClientBootstrap(group: loop)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(FlushCoalescer()) } }
            .connect(to: server.localAddress!).wait()
        try loop.submit {
            client.writeAndFlush(ByteBuffer(string: "last words"), promise: nil)
            client.close(promise: nil)
        }.wait()
        XCTAssertEqual(try received.futureResult.wait(), "last words")
    }
}
