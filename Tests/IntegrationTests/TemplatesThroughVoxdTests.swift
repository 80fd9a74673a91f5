import Foundation
import VoxTestSupport
import XCTest

/// AI templates through a real voxd: LocalTTS loaded, OpenAI loaded against
/// its loopback fake (discovered models, prices), Groq failing for want of
/// its secret, Deepgram disabled. Validation, presets, versions, clone,
/// references, and resolution along the fallback chain.
final class TemplatesThroughVoxdTests: XCTestCase {
    var fake: OpenAIFake!
    var d: Daemon!

    override func setUp() async throws {
        fake = try await OpenAIFake.start()
        d = Daemon(plugins: [
            "localtts": "library = \"libvox_localtts.so\"",
            "openai": """
            library = "libvox_openai.so"
            [settings]
            base_url = "\(fake.baseURL)"
            [secrets]
            api_key = "env:VOXD_TEST_OPENAI_KEY"
            """,
            "groq": "library = \"libvox_groq.so\"\n[secrets]\napi_key = \"env:VOXD_TEST_NO_SUCH_KEY\"\n",
            "deepgram": "enabled = false\nlibrary = \"libvox_deepgram.so\"\n",
        ], config: "[limits]\ndiscovery_ttl_seconds = 0\n[router.breaker]\nconsecutive_failures = 2\ncooldown_seconds = 60\n", environment: ["VOXD_TEST_OPENAI_KEY": OpenAIFake.defaultAPIKey])
        try d.start()
    }

    override func tearDown() async throws {
        d.stop()
        XCTAssertEqual(fake.violations, [])
        await fake.stop()
    }

    let good = #"""
    {"name":"Support line","description":"English support",
     "stt":{"provider":"openai","model":"gpt-4o-transcribe","language":"en"},
     "tts":{"provider":"localtts","model":"espeak-ng","voice":"en-us","speed":1.1},
     "llm":{"provider":"openai","model":"gpt-4.1-nano","temperature":0.4,"max_tokens":200},
     "vad":{"enabled":true,"threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":500},
     "turn_detection":"server_vad","audio":{"input_transcription":true},
     "system_prompt":{"id":"builtin-customer-support","variables":{"company_name":"Acme"}}}
    """#

    func paths(_ r: Daemon.Reply) -> Set<String> {
        Set(((r.error?["problems"] ?? r.json["errors"]) as? [[String: Any]] ?? []).compactMap { $0["path"] as? String })
    }

    func testValidationReportsEveryProblemAgainstWhatIsRunning() throws {
        let r = try d.post("/v1/templates/validate", #"""
        {"name":"Bad","colour":"red",
         "stt":{"provider":"groq","language":"en"},
         "tts":{"provider":"localtts","voice":"vulcan","speed":3},
         "llm":{"provider":"openai","model":"gpt-nope","temperature":2.5},
         "vad":{"enabled":false},"turn_detection":"server_vad","audio":{"sample_rate":24000},
         "system_prompt":{"id":"builtin-sales-assistant","variables":{"mood":"x"}}}
        """#)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.json["valid"] as? Bool, false)
        XCTAssertEqual(paths(r), ["colour", "tts.speed", "llm.temperature", "stt.provider", "tts.voice", "llm.model",
                                  "audio.sample_rate", "turn_detection", "system_prompt.variables.mood"], r.text)
        let errors = r.json["errors"] as! [[String: Any]]
        func reason(_ p: String) -> String { errors.first { $0["path"] as? String == p }?["reason"] as? String ?? "" }
        XCTAssertTrue(reason("stt.provider").contains("secret api_key (env:VOXD_TEST_NO_SUCH_KEY) is not configured"), reason("stt.provider"))
        XCTAssertTrue(reason("tts.voice").contains("localtts has no voice \"vulcan\""), reason("tts.voice"))
        XCTAssertTrue(reason("llm.model").contains("gpt-4o-mini"), "lists the models it has: \(reason("llm.model"))")
        XCTAssertTrue(reason("audio.sample_rate").contains("22050"), reason("audio.sample_rate"))

        let disabled = try d.post("/v1/templates/validate", #"{"name":"D","tts":{"provider":"deepgram"},"stt":{"provider":"nosuch"}}"#)
        XCTAssertTrue((disabled.json["errors"] as? [[String: Any]] ?? []).contains { ($0["reason"] as? String ?? "").contains("deepgram is disabled") }, disabled.text)
        XCTAssertTrue((disabled.json["errors"] as? [[String: Any]] ?? []).contains { ($0["reason"] as? String ?? "").contains("no provider named \"nosuch\"") }, disabled.text)
        XCTAssertEqual(Set((disabled.json["warnings"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }), ["llm"])

        // Create refuses the same body with 400 and writes nothing.
        let refused = try d.post("/v1/templates", #"{"name":"Bad","tts":{"provider":"localtts","voice":"vulcan"}}"#)
        XCTAssertEqual(refused.status, 400)
        XCTAssertEqual(paths(refused), ["tts.voice"])
        XCTAssertEqual((try d.curl("/v1/templates").json["templates"] as! [[String: Any]]).filter { $0["preset"] as? Bool == false }.count, 0)
    }

    func testCreateWithDiscoveredModelsAndCostThenVersionsCloneAndDelete() throws {
        let created = try d.post("/v1/templates", good)
        XCTAssertEqual(created.status, 201, created.text)
        let id = created.json["id"] as! String
        XCTAssertEqual(created.headers["etag"], "\"1\"")
        XCTAssertEqual(((created.json["validation"] as? [String: Any])?["warnings"] as? [[String: Any]])?.count, 0, "gpt-4.1-nano is known only through discovery: \(created.text)")
        let cost = created.json["cost"] as! [String: Any]
        let stt = (cost["components"] as! [String: Any])["stt"] as! [String: Any]
        XCTAssertEqual(stt["usd_per_minute"] as? Double ?? 0, 0.006, accuracy: 1e-9, "60 s at $0.006/min (openai.md prices)")
        XCTAssertEqual(((cost["components"] as! [String: Any])["tts"] as! [String: Any])["usd_per_minute"] as? Double, 0)
        XCTAssertEqual(cost["complete"] as? Bool, false, "OpenAI declares no chat price")
        XCTAssertNotNil((cost["assumptions"] as? [String: Any])?["turns_per_minute"])

        // Read back member for member.
        let got = try d.curl("/v1/templates/\(id)").json
        XCTAssertEqual((got["llm"] as? [String: Any])?["model"] as? String, "gpt-4.1-nano")
        XCTAssertEqual((got["system_prompt"] as? [String: Any])?["variables"] as? [String: String], ["company_name": "Acme"])
        XCTAssertEqual(try d.post("/v1/templates", good).status, 409, "duplicate name")

        // Optimistic concurrency.
        let v2 = try d.curl("/v1/templates/\(id)", method: "PATCH", body: Data(#"{"version":1,"llm":{"provider":"openai","model":"gpt-4o-mini","temperature":1}}"#.utf8))
        XCTAssertEqual(v2.status, 200, v2.text)
        XCTAssertEqual(v2.json["version"] as? Int, 2)
        XCTAssertEqual((v2.json["tts"] as? [String: Any])?["voice"] as? String, "en-us", "untouched sections stay")
        let stale = try d.curl("/v1/templates/\(id)", method: "PUT", body: Data(#"{"version":1,"description":"lost"}"#.utf8))
        XCTAssertEqual(stale.status, 409, stale.text)
        let invalid = try d.curl("/v1/templates/\(id)", method: "PATCH", body: Data(#"{"version":2,"llm":{"provider":"openai","top_p":7}}"#.utf8))
        XCTAssertEqual(invalid.status, 400)
        XCTAssertEqual(try d.curl("/v1/templates/\(id)").json["version"] as? Int, 2, "refused writes change nothing")

        // Discovery that fails: the model is a warning, not an error.
        fake.script("/v1/models", .status(500, retryAfter: nil))
        let staleCheck = try d.post("/v1/templates/validate", #"{"name":"S","llm":{"provider":"openai","model":"gpt-4.1-nano"}}"#)
        XCTAssertEqual(staleCheck.json["valid"] as? Bool, true, staleCheck.text)
        XCTAssertEqual(Set((staleCheck.json["warnings"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }), ["llm.model", "stt", "tts"], staleCheck.text)
        fake.script("/v1/models", .normal)

        // Presets are read-only; a clone is a stored template.
        XCTAssertEqual(try d.curl("/v1/templates/preset-budget", method: "DELETE").status, 403)
        let clone = try d.post("/v1/templates/preset-hindi/clone", #"{"name":"Hindi desk"}"#)
        XCTAssertEqual(clone.status, 201, clone.text)
        XCTAssertEqual(clone.json["preset"] as? Bool, false)
        XCTAssertEqual(clone.json["cloned_from"] as? String, "preset-hindi")
        XCTAssertEqual((clone.json["stt"] as? [String: Any])?["language"] as? String, "hi-IN")

        // A prompt used by a template cannot go; a template that is a default cannot either.
        let prompt = try d.post("/v1/prompts", #"{"name":"Mine","text":"Be brief."}"#)
        let pid = prompt.json["id"] as! String
        XCTAssertEqual(try d.curl("/v1/templates/\(id)", method: "PATCH", body: Data(#"{"version":2,"system_prompt":{"id":"\#(pid)"}}"#.utf8)).status, 200)
        let promptDelete = try d.curl("/v1/prompts/\(pid)", method: "DELETE")
        XCTAssertEqual(promptDelete.status, 409, promptDelete.text)
        XCTAssertTrue((promptDelete.error?["message"] as? String ?? "").contains(id))
        XCTAssertEqual(try d.curl("/v1/defaults", method: "PUT", body: Data(#"{"template":"\#(id)"}"#.utf8)).status, 200)
        let refused = try d.curl("/v1/templates/\(id)", method: "DELETE")
        XCTAssertEqual(refused.status, 409, refused.text)
        XCTAssertTrue((refused.error?["message"] as? String ?? "").contains("uid:\(getuid())"), refused.text)
        XCTAssertEqual(try d.curl("/v1/defaults", method: "PUT", body: Data(#"{"template":null}"#.utf8)).status, 200)
        XCTAssertEqual(try d.curl("/v1/templates/\(id)", method: "DELETE").status, 200)
        XCTAssertEqual(try d.curl("/v1/templates/\(id)").status, 404)

        let audit = try d.curl("/v1/audit?object_type=template").json["entries"] as! [[String: Any]]
        XCTAssertEqual(audit.compactMap { $0["action"] as? String }, ["template.delete", "template.update", "template.clone", "template.update", "template.create"])
    }

    func testResolutionFallsBackAlongTheChain() throws {
        let id = try d.post("/v1/templates", good).json["id"] as! String
        let voiceOnly = try d.post("/v1/templates", #"{"name":"Voice only","tts":{"provider":"localtts","voice":"en-gb"}}"#).json["id"] as! String

        let direct = try d.curl("/v1/templates/\(id)/resolve")
        XCTAssertEqual(direct.json["used"] as? String, "named", direct.text)

        // OpenAI goes away: the caller's default serves.
        XCTAssertEqual(try d.post("/v1/plugins/openai/disable", "").status, 200)
        XCTAssertEqual(try d.curl("/v1/defaults", method: "PUT", body: Data(#"{"template":"\#(voiceOnly)"}"#.utf8)).status, 200)
        let viaDefault = try d.curl("/v1/templates/\(id)/resolve")
        XCTAssertEqual(viaDefault.json["used"] as? String, "caller_default", viaDefault.text)
        XCTAssertEqual((viaDefault.json["template"] as? [String: Any])?["id"] as? String, voiceOnly)
        XCTAssertTrue((viaDefault.json["reason"] as? String ?? "").contains("openai is disabled"), viaDefault.text)

        // Without a caller default, the system default (preset-budget: Groq
        // failed, Deepgram disabled) cannot serve either: the emergency preset does.
        XCTAssertEqual(try d.curl("/v1/defaults", method: "PUT", body: Data(#"{"template":null}"#.utf8)).status, 200)
        let emergency = try d.curl("/v1/templates/\(id)/resolve")
        XCTAssertEqual(emergency.json["used"] as? String, "emergency", emergency.text)
        let chain = emergency.json["chain"] as! [[String: Any]]
        XCTAssertEqual(chain.compactMap { $0["step"] as? String }, ["named", "system_default", "emergency"])
        XCTAssertTrue((chain[1]["reasons"] as? [String] ?? []).contains { $0.contains("groq failed to load") }, "\(chain[1])")
        XCTAssertEqual(try d.curl("/v1/templates/nope/resolve").status, 404)
    }

    /// A provider whose circuit is open cannot serve a template right now.
    func testAnOpenCircuitMakesATemplateUnservable() throws {
        let id = try d.post("/v1/templates", good).json["id"] as! String
        XCTAssertEqual(try d.curl("/v1/templates/\(id)/resolve").json["used"] as? String, "named")
        fake.script("/v1/chat/completions", .status(503, retryAfter: nil))
        for _ in 0..<2 {
            let r = try d.post("/v1/chat/completions", #"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#)
            XCTAssertEqual(r.status, 503, r.text)
        }
        let resolved = try d.curl("/v1/templates/\(id)/resolve")
        XCTAssertNotEqual(resolved.json["used"] as? String, "named", resolved.text)
        let chain = resolved.json["chain"] as! [[String: Any]]
        XCTAssertTrue((chain[0]["reasons"] as? [String] ?? []).contains { $0.contains("openai's circuit is open") }, "\(chain[0])")
        fake.script("/v1/chat/completions", .normal)
    }

    func testSessionConfigsExportImportRoundTripAndRefuseBadImports() throws {
        let tid = try d.post("/v1/templates", good).json["id"] as! String
        let created = try d.post("/v1/session-configs", #"""
        {"name":"Night shift","template":"\#(tid)","overrides":{"tts":{"voice":"en-gb","speed":0.9},"llm":{"temperature":0.2}},
         "optimization":"latency","target_language":"en-GB"}
        """#)
        XCTAssertEqual(created.status, 201, created.text)
        let id = created.json["id"] as! String
        let effective = created.json["effective"] as! [String: Any]
        XCTAssertEqual((effective["tts"] as? [String: Any])?["voice"] as? String, "en-gb")
        XCTAssertEqual((effective["llm"] as? [String: Any])?["provider"] as? String, "openai", "overrides merge into the template's section")
        XCTAssertEqual((effective["llm"] as? [String: Any])?["temperature"] as? Double, 0.2)
        XCTAssertEqual((effective["stt"] as? [String: Any])?["language"] as? String, "en-GB")

        // Export, delete, import: the same document comes out again, byte for byte.
        let exported = try d.curl("/v1/session-configs/\(id)/export")
        XCTAssertEqual(exported.status, 200)
        XCTAssertEqual(exported.json["kind"] as? String, "voxd.session_config")
        let clash = try d.curl("/v1/session-configs/import", method: "POST", body: exported.body)
        XCTAssertEqual(clash.status, 400)
        XCTAssertEqual(paths(clash), ["session_config.name"], clash.text)
        XCTAssertEqual(try d.curl("/v1/session-configs/\(id)", method: "DELETE").status, 200)
        let imported = try d.curl("/v1/session-configs/import", method: "POST", body: exported.body)
        XCTAssertEqual(imported.status, 201, imported.text)
        let newID = imported.json["id"] as! String
        XCTAssertEqual(try d.curl("/v1/session-configs/\(newID)/export").body, exported.body)

        // A bad document: every problem, nothing written.
        let before = (try d.curl("/v1/session-configs").json["session_configs"] as! [[String: Any]]).count
        let bad = try d.post("/v1/session-configs/import", #"""
        {"kind":"voxd.template","format_version":2,"extra":1,
         "session_config":{"name":"Imported","template":"nope","overrides":{"llm":{"temperature":5}},"optimization":"fast"}}
        """#)
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(paths(bad), ["kind", "format_version", "extra", "session_config.optimization", "session_config.template"], bad.text)
        let badOverride = try d.post("/v1/session-configs/import", #"""
        {"kind":"voxd.session_config","format_version":1,
         "session_config":{"name":"Imported","template":"\#(tid)","overrides":{"llm":{"temperature":5},"tts":{"voice":"vulcan"}},"optimization":"quality"}}
        """#)
        XCTAssertEqual(paths(badOverride), ["session_config.overrides.llm.temperature", "session_config.overrides.tts.voice"], badOverride.text)
        XCTAssertEqual(try d.curl("/v1/session-configs/import", method: "POST", body: Data("{not json".utf8)).status, 400)
        XCTAssertEqual((try d.curl("/v1/session-configs").json["session_configs"] as! [[String: Any]]).count, before)

        // A prompt named in overrides is kept alive by the configuration.
        let pid = try d.post("/v1/prompts", #"{"name":"Night prompt","text":"Be quiet."}"#).json["id"] as! String
        let withPrompt = try d.post("/v1/session-configs", #"{"name":"Quiet","template":"\#(tid)","overrides":{"system_prompt":{"id":"\#(pid)","variables":{}}}}"#)
        XCTAssertEqual(withPrompt.status, 201, withPrompt.text)
        let promptDelete = try d.curl("/v1/prompts/\(pid)", method: "DELETE")
        XCTAssertEqual(promptDelete.status, 409)
        XCTAssertTrue((promptDelete.error?["message"] as? String ?? "").contains("session configuration \(withPrompt.json["id"] as? String ?? "?")"), promptDelete.text)
        XCTAssertEqual(try d.curl("/v1/session-configs/\(withPrompt.json["id"] as! String)", method: "DELETE").status, 200)
        XCTAssertEqual(try d.curl("/v1/prompts/\(pid)", method: "DELETE").status, 200)

        // A preset whose providers are not running: saved, with warnings.
        let onPreset = try d.post("/v1/session-configs", #"{"name":"Hindi","template":"preset-hindi"}"#)
        XCTAssertEqual(onPreset.status, 201, onPreset.text)
        let warnings = (onPreset.json["validation"] as? [String: Any])?["warnings"] as? [[String: Any]] ?? []
        XCTAssertTrue(warnings.contains { $0["path"] as? String == "template.stt.provider" }, "\(warnings)")

        // Versions, references, the client's default.
        XCTAssertEqual(try d.curl("/v1/session-configs/\(newID)", method: "PATCH", body: Data(#"{"version":2,"optimization":"quality"}"#.utf8)).status, 409)
        let v2 = try d.curl("/v1/session-configs/\(newID)", method: "PATCH", body: Data(#"{"version":1,"optimization":"quality"}"#.utf8))
        XCTAssertEqual(v2.json["version"] as? Int, 2, v2.text)
        let templateDelete = try d.curl("/v1/templates/\(tid)", method: "DELETE")
        XCTAssertEqual(templateDelete.status, 409)
        XCTAssertTrue((templateDelete.error?["message"] as? String ?? "").contains(newID), templateDelete.text)
        XCTAssertEqual(try d.curl("/v1/defaults", method: "PUT", body: Data(#"{"session_config":"\#(newID)"}"#.utf8)).status, 200)
        XCTAssertEqual(try d.curl("/v1/defaults").json["session_config"] as? String, newID)
        XCTAssertEqual(try d.curl("/v1/session-configs/\(newID)", method: "DELETE").status, 409)
        XCTAssertEqual(try d.curl("/v1/defaults", method: "PUT", body: Data(#"{"session_config":null}"#.utf8)).status, 200)
        XCTAssertEqual(try d.curl("/v1/session-configs/\(newID)", method: "DELETE").status, 200)
        let audit = try d.curl("/v1/audit?object_type=session_config").json["entries"] as! [[String: Any]]
        XCTAssertTrue(audit.contains { $0["action"] as? String == "session_config.import" })
    }

    func testVoxctlCoversPromptsTemplatesConfigsAndAudit() throws {
        func voxctl(_ args: [String], stdin: Data? = nil) throws -> RunResult {
            try runProcess(Daemon.voxctl, ["--socket", d.socket] + args, stdin: stdin)
        }
        let prompts = try voxctl(["prompts"])
        XCTAssertEqual(prompts.status, 0, prompts.stderr)
        XCTAssertTrue(prompts.stdout.contains("builtin-sales-assistant"), prompts.stdout)
        let render = try voxctl(["prompts", "render", "builtin-appointment-scheduler", "--set", "company_name=Bright Dental"])
        XCTAssertTrue(render.stdout.contains("for Bright Dental"), render.stdout + render.stderr)
        let missing = try voxctl(["prompts", "render", "builtin-general-assistant", "--set", "nope=1"])
        XCTAssertEqual(missing.status, 65, "a refused render is exit 65")
        XCTAssertTrue(missing.stderr.contains("values.nope: unknown variable"), missing.stderr)

        let created = try voxctl(["--json", "templates", "create", "-"], stdin: Data(good.utf8))
        XCTAssertEqual(created.status, 0, created.stderr)
        let id = (try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])?["id"] as? String ?? ""
        let list = try voxctl(["templates"])
        XCTAssertTrue(list.stdout.contains(id) && list.stdout.contains("preset-budget"), list.stdout)
        let show = try voxctl(["templates", "show", id])
        XCTAssertTrue(show.stdout.contains("cost: $0.0060 per minute (incomplete"), show.stdout)
        let invalid = try voxctl(["templates", "validate", "-"], stdin: Data(#"{"name":"X","llm":{"provider":"openai","temperature":9}}"#.utf8))
        XCTAssertEqual(invalid.status, 65)
        XCTAssertTrue(invalid.stdout.contains("llm.temperature: 9 is out of range"), invalid.stdout)
        XCTAssertTrue(try voxctl(["templates", "resolve", id]).stdout.contains("named"))
        XCTAssertEqual(try voxctl(["templates", "delete", "preset-budget"]).status, 77)

        let cfg = try d.post("/v1/session-configs", #"{"name":"Desk","template":"\#(id)"}"#).json["id"] as! String
        let exported = try voxctl(["configs", "export", cfg, "--json"])
        XCTAssertEqual(Data(exported.stdout.utf8), try d.curl("/v1/session-configs/\(cfg)/export").body)
        XCTAssertEqual(try d.curl("/v1/session-configs/\(cfg)", method: "DELETE").status, 200)
        let imported = try voxctl(["configs", "import", "-"], stdin: Data(exported.stdout.utf8))
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertTrue(try voxctl(["configs"]).stdout.contains("Desk"))
        let audit = try voxctl(["audit", "--object", id])
        XCTAssertTrue(audit.stdout.contains("template.create"), audit.stdout)
    }
}
