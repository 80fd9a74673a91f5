import Foundation
import VoxPluginKit

/// The kit's JSON parser (every streamed chat chunk is parsed twice: the
/// provider's chunk in the plugin, voxd's event in the host) against
/// Foundation's JSONSerialization on the same bytes, alternating blocks.
enum JSONBench {
    static let chunk = #"{"id":"chatcmpl-AbC123xyz","object":"chat.completion.chunk","created":1732182000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"content":" word42"},"logprobs":null,"finish_reason":null}],"usage":null}"#
    static let event = #"{"content":" word42","type":"delta"}"#

    static func run() {
        Bench.line("== JSON: the kit's parser vs Foundation's JSONSerialization (same bytes, same process)")
        for (name, text) in [("provider chat chunk (\(chunk.utf8.count) B)", chunk), ("voxd delta event (\(event.utf8.count) B)", event)] {
            let bytes = Array(text.utf8)
            let data = Data(bytes)
            var ours: [Double] = [], theirs: [Double] = []
            var sink = 0
            for _ in 0..<15 {
                var t = Bench.now()
                for _ in 0..<20_000 { if case .object(let o) = try! JSONValue.parse(bytes) { sink &+= o.count } }
                ours.append(Double(Bench.now() - t) / 20_000)
                t = Bench.now()
                for _ in 0..<20_000 { sink &+= (try! JSONSerialization.jsonObject(with: data) as! [String: Any]).count }
                theirs.append(Double(Bench.now() - t) / 20_000)
            }
            let o = ours.sorted()[ours.count / 2], f = theirs.sorted()[theirs.count / 2]
            Bench.line(String(format: "%@: kit %.2f us, JSONSerialization %.2f us: %.2fx its time (median of 15 blocks)%@",
                              name, o / 1000, f / 1000, o / f, sink == 0 ? "!" : ""))
        }
    }
}
