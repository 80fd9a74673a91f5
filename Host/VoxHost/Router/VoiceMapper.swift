import Foundation
import VoxPluginKit

/// Which voice a request's `voice` becomes on a given provider, so the
/// voice travels when speech fails over:
/// 1. `[voice_map]`: a logical name → one voice per provider, always;
/// 2. the provider the client addressed first gets the voice as asked;
/// 3. a provider that lists the same voice id gets it;
/// 4. else the provider's voice closest by language and gender to the
///    asked-for voice (as another provider's listing describes it);
/// 5. else the provider's default voice.
struct VoiceMapper {
    let daemon: VoxDaemon
    /// Use only voices already listed (the explain route calls no provider).
    var offline = false

    func voice(for asked: String?, on i: PluginInstance, model: String? = nil, language: String? = nil,
               primary: Bool) async -> (voice: String?, reason: String) {
        let caps = i.capabilities
        let fallback = caps.models?.first(where: { $0.id == model })?.defaultVoice ?? caps.defaultVoice
        guard let asked else { return (fallback, "\(i.name)'s default voice") }
        let map = daemon.config.router.voiceMap[asked]
        if let v = map?[i.name] { return (v, "voice_map.\(asked).\(i.name)") }
        if primary, map == nil { return (asked, "as requested") }
        // Voices of this model when the listing says which model they belong to.
        let listed = await voices(of: i)
        let own = listed.map { all in all.contains { $0.model == model } ? all.filter { $0.model == nil || $0.model == model } : all }
        if map == nil, own?.contains(where: { $0.id == asked }) ?? (asked == fallback) { return (asked, "\(i.name) has the voice \(asked)") }
        guard let own, !own.isEmpty else {
            return (fallback, "\(i.name) does not list voices: its default voice")
        }
        // What the asked-for voice is like, from any provider that lists it
        // (or the voices the map names for other providers).
        let names = Set([asked] + (map.map { Array($0.values) } ?? []))
        var reference: Voice?
        for other in await daemon.providers(for: .ttsSynthesize) where other.name != i.name {
            if let v = await daemon.catalog.cachedVoices(of: other)?.first(where: { names.contains($0.id) }) { reference = v; break }
        }
        let lang = (language ?? reference?.languages?.first)?.lowercased()
        let gender = reference?.gender?.lowercased()
        var best: (Voice, Int)?
        for v in own {
            var score = 0
            if let lang, (v.languages ?? []).contains(where: { VoxRouter.languageMatches($0.lowercased(), lang) }) { score += 2 }
            if let gender, v.gender?.lowercased() == gender { score += 1 }
            if score > (best?.1 ?? 0) { best = (v, score) }
        }
        if let best {
            let (v, score) = best
            let why = [score >= 2 ? "language \(lang ?? "")" : nil, score % 2 == 1 ? "gender \(gender ?? "")" : nil].compactMap { $0 }.joined(separator: " and ")
            return (v.id, "closest \(i.name) voice to \(asked) by \(why)")
        }
        return (fallback, "no \(i.name) voice like \(asked): its default voice")
    }

    private func voices(of i: PluginInstance) async -> [Voice]? {
        guard i.capabilities.supports(.voicesList) else { return nil }
        if offline { return await daemon.catalog.cachedVoices(of: i) }
        let listed = await daemon.catalog.voices(of: [i], language: nil, gender: nil, refresh: false)
        return listed.voices.isEmpty && !listed.errors.isEmpty ? nil : listed.voices.map(\.voice)
    }
}
