import Foundation
import GRDB
import VoxPluginKit

/// The `prompts` table: stored system prompts, each change one transaction
/// with its audit row. Built-in prompts are not stored (BuiltinPrompts).
extension VoxStore {
    public func prompts() async throws -> [Prompt] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM prompts ORDER BY name").map(Self.prompt) }
    }

    public func prompt(_ id: String) async throws -> Prompt? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM prompts WHERE id = ?", arguments: [id]).map(Self.prompt) }
    }

    /// Saves a new prompt (id, version 1 and timestamps are set here).
    public func createPrompt(_ input: Prompt, limits: PromptLimits, actor: AuditActor) async throws -> Prompt {
        try await write { db in
            var p = input
            p.id = Self.newID("prm")
            p.version = 1
            p.createdAt = Self.now()
            p.updatedAt = p.createdAt
            try Self.check(p, limits: limits, db: db)
            if p.isDefault { try Self.clearDefault(db, category: p.category, except: p.id, actor: actor) }
            try db.execute(sql: """
                INSERT INTO prompts (id, name, category, body, is_default, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [p.id, p.name, p.category, p.storedBody.serialized, p.isDefault, p.version, p.createdAt, p.updatedAt])
            try Self.audit(db, actor: actor, action: "prompt.create", objectType: "prompt", objectID: p.id, before: nil, after: p.json)
            return p
        }
    }

    /// Applies `change` to the stored prompt if it is still at `expectedVersion`;
    /// otherwise 409 and nothing changes.
    public func updatePrompt(_ id: String, expectedVersion: Int, limits: PromptLimits, actor: AuditActor,
                             change: @escaping @Sendable (inout Prompt) -> Void) async throws -> Prompt {
        try await write { db in
            guard let before = try Row.fetchOne(db, sql: "SELECT * FROM prompts WHERE id = ?", arguments: [id]).map(Self.prompt) else {
                throw Self.noPrompt(id)
            }
            guard before.version == expectedVersion else {
                throw VoxError.conflict("prompt \(id) is at version \(before.version), not \(expectedVersion): someone changed it since you read it; read it again and reapply your change (nothing was written)")
            }
            var p = before
            change(&p)
            p.version = before.version + 1
            p.updatedAt = Self.now()
            try Self.check(p, limits: limits, db: db)
            if p.isDefault && !before.isDefault || p.isDefault && p.category != before.category {
                try Self.clearDefault(db, category: p.category, except: p.id, actor: actor)
            }
            try db.execute(sql: """
                UPDATE prompts SET name = ?, category = ?, body = ?, is_default = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?
                """, arguments: [p.name, p.category, p.storedBody.serialized, p.isDefault, p.version, p.updatedAt, id, expectedVersion])
            try Self.audit(db, actor: actor, action: "prompt.update", objectType: "prompt", objectID: id, before: before.json, after: p.json)
            return p
        }
    }

    /// Deletes a prompt (at `expectedVersion` when given).
    public func deletePrompt(_ id: String, expectedVersion: Int?, actor: AuditActor) async throws {
        try await write { db in
            guard let before = try Row.fetchOne(db, sql: "SELECT * FROM prompts WHERE id = ?", arguments: [id]).map(Self.prompt) else {
                throw Self.noPrompt(id)
            }
            if let expectedVersion, before.version != expectedVersion {
                throw VoxError.conflict("prompt \(id) is at version \(before.version), not \(expectedVersion): not deleted")
            }
            try Self.refuseIfReferenced(db, prompt: id)
            try db.execute(sql: "DELETE FROM prompts WHERE id = ?", arguments: [id])
            try Self.audit(db, actor: actor, action: "prompt.delete", objectType: "prompt", objectID: id, before: before.json, after: nil)
        }
    }

    static func noPrompt(_ id: String) -> VoxError { VoxError(.notFound, "no prompt \"\(id)\" (see GET /v1/prompts)") }

    /// Every semantic problem of a prompt at once; and a name no other
    /// prompt (stored or built in) has.
    static func check(_ p: Prompt, limits: PromptLimits, db: Database) throws {
        var problems = PromptCheck.problems(p, limits: limits)
        if BuiltinPrompts.all.contains(where: { $0.name.caseInsensitiveCompare(p.name) == .orderedSame }) {
            problems.append(FieldProblem("name", "\"\(p.name)\" is the name of a built-in prompt; choose another"))
        } else if let other = try String.fetchOne(db, sql: "SELECT id FROM prompts WHERE name = ? AND id != ?", arguments: [p.name, p.id]) {
            throw VoxError.conflict("a prompt named \"\(p.name)\" already exists (\(other)); names are unique, case-insensitively (nothing was written)")
        }
        if !problems.isEmpty { throw VoxError(problems: problems, what: "prompt not saved, nothing was written") }
    }

    /// A new default for a category takes the flag from the previous one.
    private static func clearDefault(_ db: Database, category: String, except id: String, actor: AuditActor) throws {
        let rows = try Row.fetchAll(db, sql: "SELECT * FROM prompts WHERE category = ? AND is_default = 1 AND id != ?", arguments: [category, id])
        for row in rows {
            let before = prompt(row)
            var after = before
            after.isDefault = false
            after.version += 1
            after.updatedAt = now()
            try db.execute(sql: "UPDATE prompts SET is_default = 0, version = ?, updated_at = ? WHERE id = ?",
                           arguments: [after.version, after.updatedAt, before.id])
            try audit(db, actor: actor, action: "prompt.update", objectType: "prompt", objectID: before.id, before: before.json, after: after.json)
        }
    }

    /// Templates, and session configurations whose overrides name it, keep a prompt alive.
    static func refuseIfReferenced(_ db: Database, prompt id: String) throws {
        let templates = try String.fetchAll(db, sql: "SELECT id FROM templates WHERE json_extract(body, '$.system_prompt.id') = ? ORDER BY id", arguments: [id])
        let configs = try String.fetchAll(db, sql: "SELECT id FROM session_configs WHERE json_extract(body, '$.overrides.system_prompt.id') = ? ORDER BY id", arguments: [id])
        let users = templates.map { "template \($0)" } + configs.map { "session configuration \($0)" }
        if !users.isEmpty {
            throw VoxError.conflict("prompt \(id) is used by \(users.joined(separator: ", ")): change or delete \(users.count == 1 ? "it" : "them") first (nothing was deleted)")
        }
    }

    static func prompt(_ r: Row) -> Prompt {
        let body = (try? JSONValue.parse(Data((r["body"] as String).utf8))) ?? .object([:])
        return Prompt(id: r["id"], name: r["name"], category: r["category"], body: body, isDefault: r["is_default"],
                      version: r["version"], createdAt: r["created_at"], updatedAt: r["updated_at"])
    }
}

/// The checks a prompt must pass to be saved.
public enum PromptCheck {
    public static func problems(_ p: Prompt, limits: PromptLimits) -> [FieldProblem] {
        var problems: [FieldProblem] = []
        if p.text.count > limits.maxChars {
            problems.append(FieldProblem("text", "is \(p.text.count) characters, over the limit of \(limits.maxChars) (prompts.max_chars)"))
        }
        var seen = Set<String>()
        for (i, v) in p.variables.enumerated() {
            if !PromptText.isVariableName(Substring(v.name)) {
                problems.append(FieldProblem("variables[\(i)].name", "\"\(v.name)\" is not a variable name (a letter or _, then letters, digits or _; at most 64)"))
            } else if !seen.insert(v.name).inserted {
                problems.append(FieldProblem("variables[\(i)].name", "\"\(v.name)\" is declared twice"))
            }
        }
        var texts = [("text", p.text)]
        for key in RealtimeSections.order { if let s = p.sections[key] { texts.append(("sections.\(key)", s)) } }
        for (path, text) in texts {
            let scan = PromptText.scan(text)
            for m in scan.malformed {
                problems.append(FieldProblem(path, "malformed placeholder \"\(m.snippet)\": \(m.reason)", at: m.position))
            }
            for ph in scan.placeholders where !seen.contains(ph.name) {
                problems.append(FieldProblem(path, "{{\(ph.name)}} is not declared in variables", at: ph.position))
            }
            if path != "text", text.count > limits.maxChars {
                problems.append(FieldProblem(path, "is \(text.count) characters, over the limit of \(limits.maxChars) (prompts.max_chars)"))
            }
        }
        return problems
    }
}
