"""The chat-completions wire format shared by the client, the offline model, the server and the tests."""
