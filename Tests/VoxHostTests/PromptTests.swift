import XCTest
@testable import VoxHost
import VoxPluginKit

/// Placeholders, rendering (text and realtime), limits, and the built-ins.
final class PromptTests: XCTestCase {
    func prompt(_ text: String, _ vars: [PromptVariable], sections: [String: String] = [:]) -> Prompt {
        Prompt(id: "prm_t", name: "T", category: "custom", text: text, variables: vars, sections: sections)
    }

    func testScanFindsPlaceholdersAndMalformedOnesWithPositions() {
        let text = "Hi {{ name }}, from {{company}}.\nBad: {{bad-name}} and {{}} and x}} and {{open"
        let scan = PromptText.scan(text)
        XCTAssertEqual(scan.placeholders.map(\.name), ["name", "company"])
        XCTAssertEqual(scan.placeholders[0].position, TextPosition(offset: 3, line: 1, column: 4))
        XCTAssertEqual(scan.malformed.count, 4, "\(scan.malformed)")
        XCTAssertEqual(scan.malformed[0].snippet, "{{bad-name}}")
        XCTAssertEqual(scan.malformed[0].position, TextPosition(offset: 38, line: 2, column: 6))
        XCTAssertTrue(scan.malformed[1].reason.contains("empty"), scan.malformed[1].reason)
        XCTAssertTrue(scan.malformed[2].reason.contains("closes no"), scan.malformed[2].reason)
        XCTAssertTrue(scan.malformed[3].reason.contains("never closed"), scan.malformed[3].reason)
        XCTAssertEqual(scan.malformed[3].position.line, 2)
    }

    func testNestedOpeningIsReportedAtTheOuterOne() {
        let scan = PromptText.scan("a {{x {{y}} b")
        XCTAssertEqual(scan.malformed.map(\.position.offset), [2])
        XCTAssertEqual(scan.placeholders.map(\.name), ["y"])
    }

    func testRenderSubstitutesValuesDefaultsAndLeavesOptionalEmpty() throws {
        let p = prompt("Hello {{name}} at {{place}}{{suffix}}.", [
            PromptVariable(name: "name", required: true),
            PromptVariable(name: "place", defaultValue: "home"),
            PromptVariable(name: "suffix"),
        ])
        let out = try PromptRenderer.render(p, values: ["name": "Ada"], limits: PromptLimits())
        XCTAssertEqual(out.text, "Hello Ada at home.")
        XCTAssertNil(out.warning)
        XCTAssertEqual(out.values, ["name": "Ada", "place": "home", "suffix": ""])
        // A value is inserted literally, never rendered again.
        XCTAssertEqual(try PromptRenderer.render(p, values: ["name": "{{place}}"], limits: PromptLimits()).text, "Hello {{place}} at home.")
    }

    func testRenderReportsEveryProblemAtOnce() {
        let p = prompt("Hi {{name}} {{oops-}} {{ghost}}", [PromptVariable(name: "name", required: true), PromptVariable(name: "tone", required: true)])
        XCTAssertThrowsError(try PromptRenderer.render(p, values: ["extra": "1"], limits: PromptLimits())) { error in
            let e = error as! VoxError
            XCTAssertEqual(e.status.code, 400)
            let problems = e.problems ?? []
            XCTAssertEqual(problems.count, 5, "\(problems)")
            XCTAssertTrue(problems.contains { $0.path == "text" && $0.reason.contains("malformed") && $0.position?.offset == 12 })
            XCTAssertTrue(problems.contains { $0.path == "text" && $0.reason.contains("{{ghost}}") })
            XCTAssertTrue(problems.contains { $0.path == "values.extra" && $0.reason.contains("unknown variable") })
            XCTAssertTrue(problems.contains { $0.path == "values.name" && $0.reason.contains("required") })
            XCTAssertTrue(problems.contains { $0.path == "values.tone" && $0.reason.contains("required") })
            XCTAssertTrue(e.message.contains("5 problems"), e.message)
            XCTAssertTrue(e.message.contains("unknown variable (declared: name, tone);"), e.message)
        }
    }

    func testLengthLimitIsAnErrorAndTheSoftThresholdAWarning() throws {
        var limits = PromptLimits()
        limits.maxChars = 100
        limits.warnChars = 20
        let p = prompt("{{x}}", [PromptVariable(name: "x", required: true)])
        let warned = try PromptRenderer.render(p, values: ["x": String(repeating: "a", count: 50)], limits: limits)
        XCTAssertEqual(warned.text.count, 50)
        XCTAssertTrue(warned.warning?.contains("50 characters") == true, warned.warning ?? "nil")
        XCTAssertThrowsError(try PromptRenderer.render(p, values: ["x": String(repeating: "a", count: 101)], limits: limits)) {
            XCTAssertTrue(($0 as! VoxError).message.contains("101 characters, over the limit of 100"), "\($0)")
        }
    }

    func testRealtimeAssemblesSectionsWithDefaults() throws {
        let p = prompt("You are {{agent}}, the concierge.", [PromptVariable(name: "agent", defaultValue: "Max")],
                       sections: ["rules": "Never promise upgrades."])
        let out = try PromptRenderer.render(p, values: [:], mode: .realtime, sections: ["context": "Hotel {{agent}} works at: the Grand."], limits: PromptLimits())
        let titles = out.text.split(separator: "\n").filter { $0.hasPrefix("# ") }
        XCTAssertEqual(titles, ["# Role & Objective", "# Personality & Tone", "# Context", "# Tools", "# Conversation Flow",
                                "# Rules", "# Safety & Escalation", "# Output Format", "# Pronunciation"])
        XCTAssertTrue(out.text.hasPrefix("# Role & Objective\nYou are Max, the concierge."), out.text)
        XCTAssertTrue(out.text.contains("# Context\nHotel Max works at: the Grand."))
        XCTAssertTrue(out.text.contains("# Rules\nNever promise upgrades."))
        XCTAssertTrue(out.text.contains(RealtimeSections.defaults["output_format"]!))
        XCTAssertEqual(out.sectionSources?["role"], "text")
        XCTAssertEqual(out.sectionSources?["context"], "request")
        XCTAssertEqual(out.sectionSources?["rules"], "prompt")
        XCTAssertEqual(out.sectionSources?["safety"], "default")
    }

    func testBuiltinsRenderAsTheyAreAndReadWellAloud() throws {
        XCTAssertEqual(Set(BuiltinPrompts.all.map(\.name)), ["Customer Support Agent", "Sales Assistant", "Technical Support",
                                                             "Appointment Scheduler", "General Assistant"])
        for p in BuiltinPrompts.all {
            XCTAssertEqual(PromptCheck.problems(p, limits: PromptLimits()), [], p.id)
            XCTAssertTrue(p.builtin)
            let out = try PromptRenderer.render(p, values: [:], limits: PromptLimits())
            XCTAssertNil(out.warning, "\(p.id) should stay under the advised length: \(out.text.count)")
            XCTAssertFalse(out.text.contains("{{"), p.id)
            // Nothing a speaker would read aloud wrongly: no markdown, no digits.
            for bad in ["**", "##", "- ", "* ", "http"] { XCTAssertFalse(out.text.contains(bad), "\(p.id) contains \(bad)") }
            XCTAssertNil(out.text.rangeOfCharacter(from: .decimalDigits), "\(p.id) says numbers as words")
            XCTAssertTrue(out.text.contains("as words"), p.id)
            _ = try PromptRenderer.render(p, values: [:], mode: .realtime, limits: PromptLimits())
        }
    }

    func testCheckRefusesUndeclaredDuplicateAndBadVariables() {
        let p = prompt("{{a}} {{b}} {{c d}}", [PromptVariable(name: "a"), PromptVariable(name: "a"), PromptVariable(name: "9x")],
                       sections: ["safety": "{{zz}}"])
        let problems = PromptCheck.problems(p, limits: PromptLimits())
        XCTAssertTrue(problems.contains { $0.path == "variables[1].name" && $0.reason.contains("twice") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.path == "variables[2].name" })
        XCTAssertTrue(problems.contains { $0.path == "text" && $0.reason.contains("{{b}}") })
        XCTAssertTrue(problems.contains { $0.path == "text" && $0.reason.contains("malformed") && $0.position?.offset == 12 })
        XCTAssertTrue(problems.contains { $0.path == "sections.safety" && $0.reason.contains("{{zz}}") })
    }

    func testLimitsAndSystemTemplateFromTheConfigFile() throws {
        let c = try DaemonConfig.parse("[prompts]\nmax_chars = 500\nwarn_chars = 100\n[templates]\nsystem_default = \"tpl_x\"\n", file: "voxd.toml", base: "/")
        XCTAssertEqual(c.promptLimits.maxChars, 500)
        XCTAssertEqual(c.promptLimits.warnChars, 100)
        XCTAssertEqual(c.systemTemplate, "tpl_x")
        XCTAssertThrowsError(try DaemonConfig.parse("[prompts]\nmax_chars = 500\nwarn_chars = 600\n", file: "voxd.toml", base: "/")) {
            XCTAssertTrue("\($0)".contains("prompts.warn_chars"), "\($0)")
        }
        XCTAssertThrowsError(try DaemonConfig.parse("[prompts]\nlimit = 1\n", file: "voxd.toml", base: "/"))
    }
}
