import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOPosix
import VoxHost
import VoxTestSupport

/// `VoxBench floor`: how much of voxd's added latency its libraries set.
/// The floor is the least a relay built on them does: a Hummingbird server
/// on a unix socket, served on the connection's loop as voxd's is, that
/// forwards a chat request's bytes to the fake with AsyncHTTPClient (a
/// client per loop, made with voxd's own `upstreamConfiguration`) and
/// returns the fake's bytes as they came — no parse, no routing, no
/// plugin, no ledger. It runs in its own process (this binary,
/// `floor-relay`), as voxd does. Direct, floor and voxd take turns at one
/// client; the lines give each target's p50/p99, each relay's added p50
/// and voxd's share over the floor.
enum FloorBench {
    static func run() async throws {
        Bench.line("== floor: voxd vs a bare Hummingbird -> AsyncHTTPClient relay (same libraries, same set-up), non-streaming chat at one client")
        let fake = try await OpenAIFake.start()
        let voxd = try await ProviderBench.startDaemon(fake: fake)
        let dir = Bench.tempDir("floor")
        let socket = "\(dir)/floor.sock"
        let relay = Process()
        relay.executableURL = URL(fileURLWithPath: "\(Bench.binDir)/VoxBench")
        relay.arguments = ["floor-relay", socket, "\(fake.baseURL)/chat/completions"]
        try relay.run()
        defer { GatewayBench.stop(relay) }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let floorURL = URL(httpURLWithSocketPath: socket, uri: "/v1/chat/completions")!.absoluteString
        let targets = [
            GatewayBench.Target(name: "direct", chatURL: "\(fake.baseURL)/chat/completions", speechURL: "", model: "gpt-4o-mini", ttsModel: ""),
            GatewayBench.Target(name: "floor", chatURL: floorURL, speechURL: "", model: "gpt-4o-mini", ttsModel: ""),
            GatewayBench.Target(name: "voxd", chatURL: voxd.url("/v1/chat/completions"), speechURL: "", model: "openai/gpt-4o-mini", ttsModel: ""),
        ]
        var up = false
        for _ in 0..<500 where !up {
            up = (try? await GatewayBench.chatOnce(client, targets[1])) != nil
            if !up { try await Task.sleep(nanoseconds: 20_000_000) }
        }
        guard up else {
            Bench.line("the floor relay did not come up on \(socket) in 10 s: skipped")
            try await client.shutdown(); await voxd.stop(); await fake.stop()
            return
        }
        for t in targets { for _ in 0..<50 { _ = try await GatewayBench.chatOnce(client, t) } }
        var samples: [String: [Double]] = [:]
        for round in 0..<10 {
            for t in GatewayBench.rotate(targets, round) {
                samples[t.name, default: []] += try await GatewayBench.load(t, concurrency: 1, requests: 500, seconds: 2).latencies
            }
        }
        func p(_ n: String, _ q: Double) -> Double { Bench.percentile(samples[n]!.sorted(), q) * 1e3 }
        Bench.line(String(format: "c=1 p50 ms: direct %.3f, floor %.3f, voxd %.3f; p99 ms: %.3f / %.3f / %.3f",
                          p("direct", 0.5), p("floor", 0.5), p("voxd", 0.5), p("direct", 0.99), p("floor", 0.99), p("voxd", 0.99)))
        let fAdd = p("floor", 0.5) - p("direct", 0.5), vAdd = p("voxd", 0.5) - p("direct", 0.5)
        Bench.line(String(format: "  added p50: floor %.3f ms, voxd %.3f ms (%.2fx the floor; voxd's own share %.3f ms)", fAdd, vAdd, vAdd / fAdd, vAdd - fAdd))
        try await client.shutdown()
        await voxd.stop()
        await fake.stop()
    }

    /// The relay process: serves until killed.
    static func serve(socket: String, upstream: String) async throws {
        var clients: [ObjectIdentifier: HTTPClient] = [:]
        for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
            clients[ObjectIdentifier(loop)] = HTTPClient(eventLoopGroupProvider: .shared(loop),
                                                         configuration: HostHTTPService.upstreamConfiguration(connectTimeoutMs: HostHTTPService.defaultConnectTimeoutMs, connectionsPerLoop: 64))
        }
        let perLoop = clients
        let router = Router()
        router.post("/v1/chat/completions") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.any()
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Authorization", value: request.headers[.authorization] ?? "")
            let upstreamRequest = try HTTPClient.Request(url: upstream, method: .POST, headers: headers, body: .byteBuffer(body))
            let answer = try await perLoop[ObjectIdentifier(loop)]!.execute(request: upstreamRequest).get()
            return Response(status: .init(code: Int(answer.status.code)), headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: answer.body ?? ByteBuffer()))
        }
        let app = Application(router: router,
                              server: HTTPServerBuilder { responder in OnTheConnectionsLoop(inner: HTTP1Channel(responder: responder)) },
                              configuration: .init(address: .unixDomainSocket(path: socket), backlog: 4096),
                              logger: Bench.quiet)
        try await app.runService()
    }
}
