import Foundation
import TOMLKit
import VoxPluginKit

/// One plugins.d/NAME.toml: which library, whether enabled, its settings and
/// where its secrets come from.
///
/// ```toml
/// enabled = true
/// library = "libvox_localtts.so"   # bare name: searched; or an absolute path
/// sha256 = "…"                     # optional pin of the library file
/// [settings]                       # handed to the plugin as JSON
/// max_concurrent = 2
/// [secrets]                        # name = "env:VAR" | "file:/path"
/// api_key = "env:OPENAI_API_KEY"
/// ```
public struct PluginConfig: Sendable, Equatable {
    public var name: String
    public var file: String
    public var enabled: Bool
    public var library: String
    public var sha256: String?
    public var settings: JSONValue
    public var secrets: [String: SecretReference]

    /// Reads every `*.toml` in `dir`, sorted by name. Throws `ConfigErrors`
    /// with every problem of every file.
    public static func readAll(dir: String) throws -> [PluginConfig] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw ConfigErrors(problems: [ConfigProblem(file: dir, reason: "cannot read the plugins folder: \(error.localizedDescription)")])
        }
        var configs: [PluginConfig] = []
        var problems: [ConfigProblem] = []
        for n in names.sorted() where n.hasSuffix(".toml") {
            let path = (dir as NSString).appendingPathComponent(n)
            do {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                configs.append(try parse(text, file: path))
            } catch let e as ConfigErrors {
                problems += e.problems
            } catch {
                problems.append(ConfigProblem(file: path, reason: "cannot read: \(error.localizedDescription)"))
            }
        }
        if !problems.isEmpty { throw ConfigErrors(problems: problems) }
        return configs
    }

    public static func parse(_ text: String, file: String) throws -> PluginConfig {
        let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        var r = TOMLReader(file: file)
        if !PluginConfig.isValidName(name) {
            r.problem(nil, "the file name must be the plugin's name: [a-z0-9_-], 1–64 characters")
        }
        let root: TOMLTable
        do { root = try TOMLReader.parse(text, file: file) } catch let p as ConfigProblem { throw ConfigErrors(problems: [p]) }
        r.rejectUnknown(root, prefix: "", known: ["enabled", "library", "sha256", "settings", "secrets"])
        let enabled = r.bool(root, "enabled", prefix: "") ?? true
        let library = r.string(root, "library", prefix: "")
        if library == nil, root["library"] == nil { r.problem("library", "missing: the plugin's shared library (a file name or an absolute path)") }
        var pin = r.string(root, "sha256", prefix: "")
        if let p = pin {
            let hex = p.lowercased()
            if hex.count == 64, hex.allSatisfy(\.isHexDigit) { pin = hex } else { r.problem("sha256", "must be 64 hex digits"); pin = nil }
        }
        let settings = r.table(root, "settings", prefix: "").map { TOMLReader.json($0) } ?? .object([:])
        var secrets: [String: SecretReference] = [:]
        if let t = r.table(root, "secrets", prefix: "") {
            for key in t.keys.sorted() {
                guard let s = r.string(t, key, prefix: "secrets") else { continue }
                do { secrets[key] = try SecretReference(s) } catch { r.problem("secrets.\(key)", "\(error)") }
            }
        }
        if !r.problems.isEmpty { throw ConfigErrors(problems: r.problems) }
        return PluginConfig(name: name, file: file, enabled: enabled, library: library ?? "", sha256: pin,
                            settings: settings, secrets: secrets)
    }

    public static func isValidName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
    }
}

/// Where a secret comes from: `env:VAR` or `file:/absolute/path`. Never the
/// secret itself, so plugins.d files can be shared.
public enum SecretReference: Sendable, Equatable, CustomStringConvertible {
    case env(String)
    case file(String)

    public struct Invalid: Error, CustomStringConvertible { public let description: String }

    public init(_ s: String) throws {
        if s.hasPrefix("env:"), s.count > 4 { self = .env(String(s.dropFirst(4))) }
        else if s.hasPrefix("file:/") { self = .file(String(s.dropFirst(5))) }
        else { throw Invalid(description: "must be \"env:VARIABLE\" or \"file:/absolute/path\" (secrets are never written inline)") }
    }

    public var description: String {
        switch self {
        case .env(let v): return "env:\(v)"
        case .file(let p): return "file:\(p)"
        }
    }

    /// The secret's value, or a reason it cannot be had (never the value).
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) -> Result<String, SecretError> {
        switch self {
        case .env(let name):
            guard let v = environment[name], !v.isEmpty else { return .failure(SecretError(reason: "environment variable \(name) is not set")) }
            return .success(v)
        case .file(let path):
            guard let d = FileManager.default.contents(atPath: path) else { return .failure(SecretError(reason: "cannot read \(path)")) }
            let v = String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if v.isEmpty { return .failure(SecretError(reason: "\(path) is empty")) }
            return .success(v)
        }
    }
}

public struct SecretError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}
