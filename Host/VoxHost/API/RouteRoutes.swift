import Foundation
import Hummingbird
import NIOCore
import VoxPluginKit

/// `GET /v1/route/explain` (the candidate list and why, calling no
/// provider) and `GET /metrics` (Prometheus text format).
struct RouteRoutes {
    let daemon: VoxDaemon

    func register(on router: Router<VoxRequestContext>) {
        router.get("/v1/route/explain") { request, _ in try await explain(request) }
        router.get("/metrics") { _, _ in
            let text = await PrometheusExposition.render(daemon: daemon)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }

    func explain(_ request: Request) async throws -> Response {
        guard let kind = request.query("kind") else {
            throw VoxError(.invalidRequest, "kind is required: one of tts, stt, stt.stream, chat")
        }
        guard let op = CatalogRoutes.operation(kind), [.ttsSynthesize, .sttTranscribe, .sttStream, .llmChat].contains(op) else {
            throw VoxError(.invalidRequest, "unknown kind \"\(kind)\"; use one of tts, stt, stt.stream, chat")
        }
        var r = RouteRequest(operation: op, model: request.query("model"), language: request.query("language"), voice: request.query("voice"))
        if let f = request.query("format")?.lowercased() {
            r.formatName = f
            switch f {
            case "wav" where op == .ttsSynthesize, "pcm": r.format = .pcmS16LE
            case "m4a", "mp4": r.format = .aac
            case "ogg": r.format = .opus
            default:
                guard let e = AudioEncoding(rawValue: f) else {
                    throw VoxError(.invalidRequest, "format \"\(f)\" is not one of wav, pcm, \(AudioEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                r.format = e
            }
        }
        if op == .ttsSynthesize, r.format == nil { r.format = .pcmS16LE; r.formatName = "wav" } // speech's default
        if let s = request.query("sample_rate") {
            guard let v = Int(s), (1000...384_000).contains(v) else { throw VoxError(.invalidRequest, "sample_rate must be an integer in 1000…384000, not \"\(s)\"") }
            r.sampleRate = v
        }
        if request.query("stream") != nil { r.stream = try request.boolQuery("stream") }
        let plan = try await daemon.router.plan(r, daemon: daemon, offline: true)
        let body = await daemon.router.explain(plan, daemon: daemon)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
