import Foundation
import VoxPluginKit

/// Checks a template against what is running: each provider exists, is
/// enabled and loaded, has its secrets, offers the operation; the model and
/// voice exist in its declared or discovered capabilities (a warning, not an
/// error, when discovery failed and the list may be stale); the combination
/// is coherent (STT language, TTS sample rate, VAD for server turn
/// detection); the system prompt exists and its variables render. Every
/// problem comes back at once.
struct TemplateValidator {
    let daemon: VoxDaemon

    struct Report: Sendable {
        var errors: [FieldProblem] = []
        var warnings: [FieldProblem] = []
        var cost: JSONValue = .null

        var json: JSONValue {
            .object(["valid": .bool(errors.isEmpty), "errors": .array(errors.map(\.json)),
                     "warnings": .array(warnings.map(\.json)), "cost": cost])
        }
    }

    func check(_ config: [String: JSONValue]) async -> Report {
        var report = Report()
        var costParts: [TemplateCost.Component] = []
        var unset: [String] = []
        let names = await daemon.registry.all.map(\.config.name)
        for (key, noun, ops) in AITemplate.components {
            guard let section = config[key]?.objectValue, let provider = section["provider"]?.stringValue else {
                report.warnings.append(FieldProblem(key, "not set: the router picks the \(noun) provider"))
                unset.append(key)
                continue
            }
            let model = section["model"]?.stringValue
            guard let entry = await daemon.registry.entry(provider) else {
                report.errors.append(FieldProblem("\(key).provider", "no provider named \"\(provider)\" (providers: \(names.joined(separator: ", ")))"))
                costParts.append(.init(key: key, provider: provider, model: model, operations: ops, capabilities: nil))
                continue
            }
            var secretProblem = false
            for (name, ref) in entry.config.secrets.sorted(by: { $0.key < $1.key }) {
                if case .failure(let e) = ref.resolve() {
                    report.errors.append(FieldProblem("\(key).provider", "\(provider)'s secret \(name) (\(ref)) is not configured: \(e.reason)"))
                    secretProblem = true
                }
            }
            switch entry.state {
            case .disabled:
                report.errors.append(FieldProblem("\(key).provider", "\(provider) is disabled (enable it in \(entry.config.file) or with POST /v1/plugins/\(provider)/enable)"))
            case .failed(let why):
                if !secretProblem { report.errors.append(FieldProblem("\(key).provider", "\(provider) failed to load: \(why)")) }
            case .loaded(let instance):
                await checkLoaded(instance, key: key, noun: noun, ops: ops, section: section, config: config, into: &report)
            }
            costParts.append(.init(key: key, provider: provider, model: model, operations: ops, capabilities: entry.instance?.capabilities))
        }
        if config["turn_detection"]?.stringValue == "server_vad", config["vad"]?["enabled"]?.boolValue == false {
            report.errors.append(FieldProblem("turn_detection", "server_vad needs voice activity detection: set vad.enabled to true, or turn_detection to none"))
        }
        await checkPrompt(config, into: &report)
        report.cost = TemplateCost.estimate(costParts, unset: unset, prices: daemon.priceBook)
        return report
    }

    private func checkLoaded(_ i: PluginInstance, key: String, noun: String, ops: [VoxOperation], section: [String: JSONValue],
                             config: [String: JSONValue], into report: inout Report) async {
        let provider = i.name
        guard ops.contains(where: { i.capabilities.supports($0) }) else {
            report.errors.append(FieldProblem("\(key).provider", "\(provider) offers no \(noun) (it offers: \(i.capabilities.operations.keys.sorted().joined(separator: ", ")))"))
            return
        }
        let serves = { (m: ModelInfo) in m.operations.map { $0.contains { ops.contains($0) } } ?? true }
        let declared = (i.capabilities.models ?? []).filter(serves)
        var chosen: ModelInfo?
        if let model = section["model"]?.stringValue {
            if let m = declared.first(where: { $0.id == model }) {
                chosen = m
            } else if i.capabilities.supports(.modelsList) {
                let (found, stale) = await daemon.catalog.modelsStatus(of: i)
                if let m = found.first(where: { $0.id == model && serves($0) }) {
                    chosen = m
                    if stale { report.warnings.append(FieldProblem("\(key).model", "\(provider)'s model list could not be refreshed; \"\(model)\" was in the last one")) }
                } else if stale {
                    report.warnings.append(FieldProblem("\(key).model", "\(provider)'s model list could not be refreshed, so \"\(model)\" could not be checked against it"))
                } else {
                    report.errors.append(FieldProblem("\(key).model", "\(provider) has no \(noun) model \"\(model)\" (its \(noun) models: \(Self.list(found.filter(serves).map(\.id))))"))
                }
            } else if declared.isEmpty {
                report.warnings.append(FieldProblem("\(key).model", "\(provider) declares no models, so \"\(model)\" cannot be checked"))
            } else {
                report.errors.append(FieldProblem("\(key).model", "\(provider) has no \(noun) model \"\(model)\" (its \(noun) models: \(Self.list(declared.map(\.id))))"))
            }
        }
        if key == "tts", let voice = section["voice"]?.stringValue {
            await checkVoice(i, voice: voice, model: chosen, into: &report)
        }
        if key == "stt", let language = section["language"]?.stringValue {
            let langs = chosen?.languages ?? i.capabilities.languages ?? []
            if !langs.isEmpty, !langs.contains(where: { Self.sameLanguage($0, language) }) {
                report.errors.append(FieldProblem("stt.language", "\(provider)\(chosen.map { "/\($0.id)" } ?? "") does not transcribe \"\(language)\" (it does: \(Self.list(langs)))"))
            }
        }
        if key == "tts", let rate = config["audio"]?["sample_rate"]?.intValue,
           let rates = i.capabilities[.ttsSynthesize]?.sampleRates, !rates.isEmpty, !rates.contains(rate) {
            report.errors.append(FieldProblem("audio.sample_rate", "\(rate) Hz is not a rate \(provider) speaks at (it does: \(rates.map(String.init).joined(separator: ", ")) Hz); choose one of those or leave sample_rate out for the provider's own"))
        }
    }

    private func checkVoice(_ i: PluginInstance, voice: String, model: ModelInfo?, into report: inout Report) async {
        let provider = i.name
        guard i.capabilities.supports(.voicesList) else {
            let known = [i.capabilities.defaultVoice, model?.defaultVoice].compactMap { $0 }
            if !known.contains(voice) {
                report.warnings.append(FieldProblem("tts.voice", "\(provider) lists no voices, so \"\(voice)\" cannot be checked"))
            }
            return
        }
        let (voices, errors) = await daemon.catalog.voices(of: [i], language: nil, gender: nil, refresh: false)
        let match = voices.first { $0.voice.id == voice || $0.voice.name?.caseInsensitiveCompare(voice) == .orderedSame }
        if let match {
            if match.stale { report.warnings.append(FieldProblem("tts.voice", "\(provider)'s voice list could not be refreshed; \"\(voice)\" was in the last one")) }
        } else if let why = errors[provider] {
            report.warnings.append(FieldProblem("tts.voice", "\(provider)'s voices could not be listed (\(why)), so \"\(voice)\" could not be checked"))
        } else {
            report.errors.append(FieldProblem("tts.voice", "\(provider) has no voice \"\(voice)\" (see GET /v1/voices?provider=\(provider))"))
        }
    }

    private func checkPrompt(_ config: [String: JSONValue], into report: inout Report) async {
        guard let sp = config["system_prompt"]?.objectValue, let id = sp["id"]?.stringValue else { return }
        let prompt: Prompt?
        if let b = BuiltinPrompts.find(id) { prompt = b } else { prompt = try? await daemon.store.prompt(id) }
        guard let prompt else {
            report.errors.append(FieldProblem("system_prompt.id", "no prompt \"\(id)\" (see GET /v1/prompts)"))
            return
        }
        let values = (sp["variables"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
        do {
            _ = try PromptRenderer.render(prompt, values: values, limits: daemon.config.promptLimits)
        } catch let e as VoxError {
            for p in e.problems ?? [FieldProblem("", e.message)] {
                let path = p.path.hasPrefix("values.") ? "system_prompt.variables." + p.path.dropFirst("values.".count) : "system_prompt"
                report.errors.append(FieldProblem(path, p.path.hasPrefix("values.") ? p.reason : "prompt \(id): \(p.description)"))
            }
        } catch {
            report.errors.append(FieldProblem("system_prompt", "prompt \(id) does not render: \(error)"))
        }
    }

    /// "en" matches "en-US" and the other way round; case does not matter.
    static func sameLanguage(_ a: String, _ b: String) -> Bool {
        let x = a.lowercased(), y = b.lowercased()
        return x == y || x.hasPrefix(y + "-") || y.hasPrefix(x + "-")
    }

    static func list(_ items: [String]) -> String {
        items.isEmpty ? "none" : items.count > 12 ? items.prefix(12).joined(separator: ", ") + ", … (\(items.count) in all)" : items.joined(separator: ", ")
    }
}
