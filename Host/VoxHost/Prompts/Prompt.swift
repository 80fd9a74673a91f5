import Foundation
import VoxPluginKit

/// A declared `{{name}}` variable of a prompt.
public struct PromptVariable: Hashable, Sendable {
    public var name: String
    public var description: String?
    public var defaultValue: String?
    public var required: Bool

    public init(name: String, description: String? = nil, defaultValue: String? = nil, required: Bool = false) {
        self.name = name; self.description = description; self.defaultValue = defaultValue; self.required = required
    }

    public var json: JSONValue {
        .object(["name": .string(name), "description": description.map(JSONValue.string) ?? .null,
                 "default": defaultValue.map(JSONValue.string) ?? .null, "required": .bool(required)])
    }
}

/// A system prompt: stored (CRUD, versioned) or built in (read-only).
public struct Prompt: Hashable, Sendable {
    public static let categories = ["customer_support", "sales", "technical_support", "scheduling", "general", "custom"]

    public var id: String
    public var name: String
    public var category: String
    public var text: String
    public var variables: [PromptVariable]
    /// Structured sections for the realtime rendering (keys of `RealtimeSections.order`).
    public var sections: [String: String]
    public var isDefault: Bool
    public var builtin: Bool
    public var version: Int
    public var createdAt: String?
    public var updatedAt: String?

    public var json: JSONValue {
        .object([
            "id": .string(id), "name": .string(name), "category": .string(category), "text": .string(text),
            "variables": .array(variables.map(\.json)), "sections": .object(sections.mapValues(JSONValue.string)),
            "is_default": .bool(isDefault), "builtin": .bool(builtin), "version": .number(Double(version)),
            "created_at": createdAt.map(JSONValue.string) ?? .null, "updated_at": updatedAt.map(JSONValue.string) ?? .null,
        ])
    }

    /// What the store keeps in the `body` column (the rest has columns).
    var storedBody: JSONValue {
        .object(["text": .string(text), "variables": .array(variables.map(\.json)), "sections": .object(sections.mapValues(JSONValue.string))])
    }

    init(id: String, name: String, category: String, text: String, variables: [PromptVariable], sections: [String: String] = [:],
         isDefault: Bool = false, builtin: Bool = false, version: Int = 1, createdAt: String? = nil, updatedAt: String? = nil) {
        self.id = id; self.name = name; self.category = category; self.text = text; self.variables = variables
        self.sections = sections; self.isDefault = isDefault; self.builtin = builtin; self.version = version
        self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    /// Rebuilds the body columns read from the store.
    init(id: String, name: String, category: String, body: JSONValue, isDefault: Bool, version: Int, createdAt: String, updatedAt: String) {
        let vars = (body["variables"]?.arrayValue ?? []).map {
            PromptVariable(name: $0["name"]?.stringValue ?? "", description: $0["description"]?.stringValue,
                           defaultValue: $0["default"]?.stringValue, required: $0["required"]?.boolValue ?? false)
        }
        self.init(id: id, name: name, category: category, text: body["text"]?.stringValue ?? "", variables: vars,
                  sections: (body["sections"]?.objectValue ?? [:]).compactMapValues(\.stringValue),
                  isDefault: isDefault, version: version, createdAt: createdAt, updatedAt: updatedAt)
    }
}

/// Limits on prompt texts (`[prompts]` in voxd.toml).
public struct PromptLimits: Sendable, Equatable {
    /// A text (stored or rendered) longer than this is refused.
    public var maxChars = 8000
    /// A rendered text longer than this comes back with a `warning`: long
    /// instructions slow a voice agent's first answer and dilute the rules.
    public var warnChars = 2000
    public init() {}
}
