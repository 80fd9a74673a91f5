import XCTest
@testable import VoxHost
import VoxPluginKit
import VoxTestSupport

/// The SQLite store: open, WAL, migrations, prompts CRUD with optimistic
/// concurrency, the audit log, and refusing a damaged file.
final class StoreTests: XCTestCase {
    let admin = AuditActor(uid: 0, pid: 42)

    func draft(_ name: String, text: String = "Hello {{who}}", isDefault: Bool = false, category: String = "custom") -> Prompt {
        Prompt(id: "", name: name, category: category, text: text, variables: [PromptVariable(name: "who", defaultValue: "there")], isDefault: isDefault)
    }

    func testOpensInWALModeAndMigrates() throws {
        let dir = TestPaths.tempDir("store")
        let store = try VoxStore(stateDir: dir)
        XCTAssertEqual(store.path, "\(dir)/voxd.sqlite")
        XCTAssertEqual(store.journalMode, "wal")
        XCTAssertEqual(try store.appliedMigrations(), ["0001_audit", "0002_prompts", "0003_templates", "0004_client_defaults", "0005_session_configs", "0006_api_keys", "0007_usage"])
        // Opening again applies nothing twice.
        XCTAssertEqual(try VoxStore(stateDir: dir).appliedMigrations().count, 7)
    }

    func testRefusesAStoreFromANewerVoxd() throws {
        let dir = TestPaths.tempDir("store")
        do {
            let store = try VoxStore(stateDir: dir)
            XCTAssertNil(VoxStore.problem(path: "\(dir)/voxd.sqlite"))
            // A migration this build does not know, as a newer voxd would leave.
            try store.pool.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_future')") }
        }
        XCTAssertThrowsError(try VoxStore(stateDir: dir)) { XCTAssertTrue("\($0)".contains("newer voxd"), "\($0)") }
        XCTAssertTrue(VoxStore.problem(path: "\(dir)/voxd.sqlite")?.contains("9999_future") == true)
    }

    func testRefusesADamagedFile() throws {
        let dir = TestPaths.tempDir("store")
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(dir)/voxd.sqlite", contents: Data(repeating: 0x41, count: 8192)))
        XCTAssertThrowsError(try VoxStore(stateDir: dir)) { error in
            XCTAssertTrue("\(error)".contains("\(dir)/voxd.sqlite"), "\(error)")
        }
    }

    func testPromptCRUDWithVersionsAndAudit() async throws {
        let store = try VoxStore(stateDir: TestPaths.tempDir("store"))
        let limits = PromptLimits()
        let p = try await store.createPrompt(draft("Greeter"), limits: limits, actor: admin)
        XCTAssertTrue(p.id.hasPrefix("prm_"))
        XCTAssertEqual(p.version, 1)
        XCTAssertNotNil(p.createdAt)

        let v2 = try await store.updatePrompt(p.id, expectedVersion: 1, limits: limits, actor: admin) { $0.text = "Hi {{who}}" }
        XCTAssertEqual(v2.version, 2)
        XCTAssertEqual(v2.createdAt, p.createdAt)

        // A stale write: 409, and nothing changed.
        do {
            _ = try await store.updatePrompt(p.id, expectedVersion: 1, limits: limits, actor: admin) { $0.text = "lost update" }
            XCTFail("a stale version must be refused")
        } catch let e as VoxError {
            XCTAssertEqual(e.status.code, 409)
            XCTAssertTrue(e.message.contains("version 2, not 1"), e.message)
        }
        let stored = try await store.prompt(p.id)
        XCTAssertEqual(stored?.text, "Hi {{who}}")
        XCTAssertEqual(stored?.version, 2)

        // An invalid change is refused whole.
        do {
            _ = try await store.updatePrompt(p.id, expectedVersion: 2, limits: limits, actor: admin) { $0.text = "Hi {{nobody}}" }
            XCTFail("an undeclared variable must be refused")
        } catch let e as VoxError {
            XCTAssertEqual(e.status.code, 400)
            XCTAssertEqual(e.problems?.first?.path, "text")
        }
        let stillStored = try await store.prompt(p.id)
        XCTAssertEqual(stillStored?.version, 2)

        try await store.deletePrompt(p.id, expectedVersion: 2, actor: admin)
        let gone = try await store.prompt(p.id)
        XCTAssertNil(gone)

        let audit = try await store.auditEntries(objectType: "prompt", objectID: p.id)
        XCTAssertEqual(audit.map(\.action), ["prompt.delete", "prompt.update", "prompt.create"], "newest first; refused writes leave no trace")
        XCTAssertTrue(audit.allSatisfy { $0.actor.hasPrefix("uid:0") && $0.actor.hasSuffix("pid:42") }, "\(audit.map(\.actor))")
        XCTAssertNil(audit[2].before)
        XCTAssertEqual(audit[2].after?["text"]?.stringValue, "Hello {{who}}")
        XCTAssertEqual(audit[1].before?["text"]?.stringValue, "Hello {{who}}")
        XCTAssertEqual(audit[1].after?["text"]?.stringValue, "Hi {{who}}")
        XCTAssertEqual(audit[0].before?["version"]?.intValue, 2)
        XCTAssertNil(audit[0].after)
    }

    func testNamesAreUniqueAndDefaultsMoveWithinACategory() async throws {
        let store = try VoxStore(stateDir: TestPaths.tempDir("store"))
        let limits = PromptLimits()
        let a = try await store.createPrompt(draft("One", isDefault: true, category: "sales"), limits: limits, actor: admin)
        do {
            _ = try await store.createPrompt(draft("one"), limits: limits, actor: admin)
            XCTFail("duplicate name")
        } catch let e as VoxError {
            XCTAssertEqual(e.status.code, 409)
            XCTAssertTrue(e.message.contains(a.id), e.message)
        }
        do {
            _ = try await store.createPrompt(draft("Sales Assistant"), limits: limits, actor: admin)
            XCTFail("a built-in's name")
        } catch let e as VoxError {
            XCTAssertEqual(e.problems?.first?.path, "name")
        }
        let b = try await store.createPrompt(draft("Two", isDefault: true, category: "sales"), limits: limits, actor: admin)
        let all = try await store.prompts()
        XCTAssertEqual(all.filter(\.isDefault).map(\.id), [b.id])
        XCTAssertEqual(all.first { $0.id == a.id }?.version, 2, "losing the default flag is a change like any other")
        let audit = try await store.auditEntries(objectID: a.id)
        XCTAssertEqual(audit.first?.action, "prompt.update")
        XCTAssertEqual(audit.first?.before?["is_default"], .bool(true))
        XCTAssertEqual(audit.first?.after?["is_default"], .bool(false))
    }

    func testWritesSurviveReopening() async throws {
        let dir = TestPaths.tempDir("store")
        var ids: [String] = []
        do {
            let store = try VoxStore(stateDir: dir)
            for i in 0..<20 { ids.append(try await store.createPrompt(draft("P\(i)"), limits: PromptLimits(), actor: admin).id) }
        }
        let again = try VoxStore(stateDir: dir)
        let stored = try await again.prompts()
        XCTAssertEqual(Set(stored.map(\.id)), Set(ids))
        let audit = try await again.auditEntries(limit: 1000)
        XCTAssertEqual(audit.count, 20)
        let page = try await again.auditEntries(limit: 5, beforeID: audit[4].id)
        XCTAssertEqual(page.map(\.id), Array(audit[5..<10].map(\.id)))
    }

    /// Ten writers update the same version at once: exactly one wins, the
    /// others get 409, and the stored prompt is the winner's.
    func testConcurrentUpdatesOfOneVersionHaveOneWinner() async throws {
        let store = try VoxStore(stateDir: TestPaths.tempDir("store"))
        let p = try await store.createPrompt(draft("Race"), limits: PromptLimits(), actor: admin)
        let outcomes = await withTaskGroup(of: (Int, Int?).self) { group in
            for n in 0..<10 {
                group.addTask {
                    do {
                        _ = try await store.updatePrompt(p.id, expectedVersion: 1, limits: PromptLimits(), actor: self.admin) { $0.text = "writer \(n)" }
                        return (n, nil)
                    } catch let e as VoxError {
                        return (n, e.status.code)
                    } catch {
                        return (n, -1)
                    }
                }
            }
            var all: [(Int, Int?)] = []
            for await o in group { all.append(o) }
            return all
        }
        let winners = outcomes.filter { $0.1 == nil }.map(\.0)
        XCTAssertEqual(winners.count, 1, "\(outcomes)")
        XCTAssertEqual(outcomes.filter { $0.1 == 409 }.count, 9, "\(outcomes)")
        let stored = try await store.prompt(p.id)
        XCTAssertEqual(stored?.text, "writer \(winners[0])")
        XCTAssertEqual(stored?.version, 2)
        let audit = try await store.auditEntries(objectID: p.id)
        XCTAssertEqual(audit.count, 2)
    }
}
