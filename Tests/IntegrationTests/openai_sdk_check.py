"""Drives voxd with the official OpenAI Python SDK, unchanged, over its unix
socket (httpx's uds transport). Usage: openai_sdk_check.py SOCKET WAVFILE.
Prints one JSON object with what it saw; exits non-zero on any surprise."""
import json
import sys

import httpx
import openai

socket_path, wav_path = sys.argv[1], sys.argv[2]
client = openai.OpenAI(
    base_url="http://voxd/v1",
    api_key="unused-voxd-checks-the-socket-peer",
    http_client=httpx.Client(transport=httpx.HTTPTransport(uds=socket_path)),
    max_retries=0,
)
seen = {}

chat = client.chat.completions.create(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}])
seen["chat"] = chat.choices[0].message.content
seen["chat_finish"] = chat.choices[0].finish_reason
seen["chat_usage"] = chat.usage.total_tokens if chat.usage else None
seen["chat_model"] = chat.model

stream = client.chat.completions.create(
    model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}],
    stream=True, stream_options={"include_usage": True},
)
parts, usage = [], None
for chunk in stream:
    if chunk.choices:
        parts.append(chunk.choices[0].delta.content or "")
    if chunk.usage:
        usage = chunk.usage.total_tokens
seen["stream"] = "".join(parts)
seen["stream_usage"] = usage

with client.audio.speech.with_streaming_response.create(
    model="openai/gpt-4o-mini-tts", voice="alloy", input="Hello from the SDK", response_format="wav"
) as response:
    audio = response.read()
seen["speech_bytes"] = len(audio)
seen["speech_riff"] = audio[:4].decode("latin-1")

with open(wav_path, "rb") as f:
    text = client.audio.transcriptions.create(model="openai/whisper-1", file=("hello.wav", f.read(), "audio/wav"))
seen["transcript"] = text.text

with open(wav_path, "rb") as f:
    srt = client.audio.transcriptions.create(model="openai/whisper-1", file=("hello.wav", f.read(), "audio/wav"), response_format="srt")
seen["srt_first_line"] = srt.splitlines()[0] if srt else ""

try:
    client.chat.completions.create(model="nobody/x", messages=[{"role": "user", "content": "hi"}])
    seen["not_found"] = "no error"
except openai.NotFoundError as e:
    seen["not_found"] = e.status_code

models = client.models.list()
seen["models"] = sorted(m.id for m in models.data if m.id.startswith("openai/"))[:3]

print(json.dumps(seen))
