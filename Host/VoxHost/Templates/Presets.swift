import Foundation
import VoxPluginKit

/// The system presets: read-only templates built from the in-tree
/// providers' documented models and voices (each provider's Catalog.swift).
/// Clone one (`POST /v1/templates/{id}/clone`) to change it.
public enum TemplatePresets {
    /// Used when nothing else on the resolution chain can be served: the
    /// offline LocalTTS voice, and the router's choice for STT and chat.
    public static let emergencyID = "preset-emergency-offline"

    static func preset(_ id: String, _ name: String, _ description: String, _ body: [String: JSONValue]) -> AITemplate {
        AITemplate(id: id, name: name, description: description, config: body, preset: true)
    }

    static let vad: JSONValue = .object(["enabled": .bool(true), "threshold": .number(0.5), "prefix_padding_ms": .number(300), "silence_duration_ms": .number(500)])

    public static let all: [AITemplate] = [
        preset("preset-best-quality", "Best quality",
               "Deepgram Nova-3 live transcription, OpenAI gpt-4o, ElevenLabs multilingual v2: the most natural conversation, at the highest price.", [
            "stt": .object(["provider": .string("deepgram"), "model": .string("nova-3"), "language": .string("en")]),
            "tts": .object(["provider": .string("elevenlabs"), "model": .string("eleven_multilingual_v2"), "voice": .string("21m00Tcm4TlvDq8ikWAM"), "speed": .number(1.0), "stability": .number(0.5)]),
            "llm": .object(["provider": .string("openai"), "model": .string("gpt-4o"), "temperature": .number(0.7), "max_tokens": .number(300), "top_p": .number(1)]),
            "vad": vad, "turn_detection": .string("server_vad"),
            "audio": .object(["input_transcription": .bool(true), "sample_rate": .number(24000)]),
            "system_prompt": .object(["id": .string("builtin-general-assistant")]),
        ]),
        preset("preset-budget", "Budget",
               "Groq Whisper large v3 turbo, Groq Llama 3.1 8B instant, Deepgram Aura-2: fast and cheap, English only.", [
            "stt": .object(["provider": .string("groq"), "model": .string("whisper-large-v3-turbo"), "language": .string("en")]),
            "tts": .object(["provider": .string("deepgram"), "model": .string("aura-2-thalia-en"), "voice": .string("aura-2-thalia-en"), "speed": .number(1.0)]),
            "llm": .object(["provider": .string("groq"), "model": .string("llama-3.1-8b-instant"), "temperature": .number(0.6), "max_tokens": .number(200)]),
            "vad": vad, "turn_detection": .string("server_vad"),
            "audio": .object(["input_transcription": .bool(true), "sample_rate": .number(24000)]),
            "system_prompt": .object(["id": .string("builtin-general-assistant")]),
        ]),
        preset("preset-hindi", "Hindi (Sarvam)",
               "Sarvam end to end for Hindi speakers: Saaras v3 transcription, Sarvam 30B chat, Bulbul v3 speech.", [
            "stt": .object(["provider": .string("sarvam"), "model": .string("saaras:v3"), "language": .string("hi-IN")]),
            "tts": .object(["provider": .string("sarvam"), "model": .string("bulbul:v3"), "voice": .string("shubh"), "speed": .number(1.0)]),
            "llm": .object(["provider": .string("sarvam"), "model": .string("sarvam-30b"), "temperature": .number(0.5), "max_tokens": .number(300)]),
            "vad": vad, "turn_detection": .string("server_vad"),
            "audio": .object(["input_transcription": .bool(true), "sample_rate": .number(24000)]),
            "system_prompt": .object(["id": .string("builtin-general-assistant")]),
        ]),
        preset(emergencyID, "Emergency (offline voice)",
               "The last resort of template resolution: LocalTTS speaks offline at its own sample rate; speech-to-text and chat go to whichever provider the router picks.", [
            "tts": .object(["provider": .string("localtts"), "model": .string("espeak-ng"), "voice": .string("en-us"), "speed": .number(1.0)]),
            "vad": vad, "turn_detection": .string("server_vad"),
            "audio": .object(["input_transcription": .bool(false)]),
            "system_prompt": .object(["id": .string("builtin-general-assistant")]),
        ]),
    ]

    public static func find(_ id: String) -> AITemplate? { all.first { $0.id == id } }
}
