import Foundation
import VoxPluginKit

/// A named, saved session configuration: a template plus overrides, an
/// optimisation level and a target language. Its effective configuration
/// is the template's with the overrides merged in, member by member inside
/// each section, and `target_language` as the STT language.
public struct SessionConfig: Hashable, Sendable {
    public static let optimizations = ["latency", "balanced", "quality"]

    public var id: String
    public var name: String
    public var template: String
    public var overrides: [String: JSONValue]
    public var optimization: String
    public var targetLanguage: String?
    public var version: Int
    public var createdAt: String?
    public var updatedAt: String?

    /// The portable part: what export writes and import reads.
    public var portable: JSONValue {
        .object(["name": .string(name), "template": .string(template), "overrides": .object(overrides),
                 "optimization": .string(optimization), "target_language": targetLanguage.map(JSONValue.string) ?? .null])
    }

    public var json: JSONValue {
        guard case .object(var o) = portable else { return portable }
        o["id"] = .string(id)
        o["version"] = .number(Double(version))
        o["created_at"] = createdAt.map(JSONValue.string) ?? .null
        o["updated_at"] = updatedAt.map(JSONValue.string) ?? .null
        return .object(o)
    }

    /// The export document: `{"kind", "format_version", "session_config"}`.
    public var export: JSONValue {
        .object(["kind": .string(SessionConfigSchema.kind), "format_version": .number(1), "session_config": portable])
    }

    /// The template's configuration with the overrides applied.
    public func effective(_ base: [String: JSONValue]) -> [String: JSONValue] {
        var out = base
        for (key, value) in overrides {
            if case .object(let o) = value, case .object(var b)? = out[key] {
                for (k, v) in o { b[k] = v == .null ? nil : v }
                out[key] = .object(b)
            } else {
                out[key] = value == .null ? nil : value
            }
        }
        if let targetLanguage, case .object(var stt)? = out["stt"] {
            stt["language"] = .string(targetLanguage)
            out["stt"] = .object(stt)
        }
        return out
    }
}

enum SessionConfigSchema {
    static let kind = "voxd.session_config"

    /// Reads the members of a session configuration (all of them, or with
    /// `partial` those given), each problem with its path under `prefix`.
    static func read(_ o: [String: JSONValue], prefix: String = "", partial: Bool = false, extraKnown: [String] = [])
        -> (name: String?, template: String?, overrides: [String: JSONValue]?, optimization: String?, targetLanguage: JSONValue?, problems: [FieldProblem]) {
        var r = BodyReader()
        r.rejectUnknown(o, prefix, known: ["name", "template", "overrides", "optimization", "target_language"] + extraKnown)
        let name = r.name(o, "name", prefix, required: !partial)
        let template = r.string(o, "template", prefix, required: !partial, maxLength: 100)
        var overrides: [String: JSONValue]?
        if let ov = r.object(o, "overrides", prefix) {
            let path = BodyReader.path(prefix, "overrides")
            r.rejectUnknown(ov, path, known: TemplateSchema.configKeys)
            for (k, v) in ov where TemplateSchema.configKeys.contains(k) {
                switch (k, v) {
                case ("turn_detection", .string), (_, .object), (_, .null): break
                default: r.problem("\(path).\(k)", "must be \(k == "turn_detection" ? "a string" : "an object"), not \(BodyReader.kind(v))")
                }
            }
            overrides = ov
        }
        let optimization = r.choice(o, "optimization", prefix, SessionConfig.optimizations)
        var target: JSONValue?
        if let t = o["target_language"] {
            if t == .null { target = .null } else if let s = r.string(o, "target_language", prefix, maxLength: 35) {
                if s.split(separator: "-", omittingEmptySubsequences: false).allSatisfy({ (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }) {
                    target = .string(s)
                } else {
                    r.problem(BodyReader.path(prefix, "target_language"), "\"\(s)\" is not a language tag like \"en\", \"en-US\" or \"hi-IN\"")
                }
            }
        }
        return (name, template, overrides, optimization, target, r.problems)
    }
}
