"""The engine process's private part: the only code that imports llama.cpp. The app process never imports it;
the client names it when it starts the process."""
