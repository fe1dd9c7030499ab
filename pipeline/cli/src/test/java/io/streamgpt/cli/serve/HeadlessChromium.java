package io.streamgpt.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Debian's headless Chromium, driven over the DevTools protocol (a WebSocket on 127.0.0.1, its port
 * read from the profile's DevToolsActivePort file): navigate, evaluate JavaScript, wait for a
 * condition on the page, take a screenshot. For the web console's test.
 */
final class HeadlessChromium implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final Path profile;
    private final WebSocket socket;
    private final Map<Integer, CompletableFuture<JsonNode>> calls = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();

    private HeadlessChromium(Process process, Path profile, WebSocket socket) {
        this.process = process;
        this.profile = profile;
        this.socket = socket;
    }

    /** Starts Chromium on a blank page, window 1200x900, in a fresh profile. */
    static HeadlessChromium start() throws Exception {
        Path profile = Files.createTempDirectory("streamgpt-chromium");
        Process process =
                new ProcessBuilder(
                                "chromium",
                                "--headless=new",
                                "--no-sandbox", // CI containers run as root
                                "--disable-gpu",
                                "--no-first-run",
                                "--window-size=1200,900",
                                "--remote-debugging-address=127.0.0.1",
                                "--remote-debugging-port=0",
                                "--user-data-dir=" + profile,
                                "about:blank")
                        .redirectErrorStream(true)
                        .redirectOutput(profile.resolve("chromium.log").toFile())
                        .start();
        try {
            Path portFile = profile.resolve("DevToolsActivePort");
            long deadline = System.currentTimeMillis() + 30_000;
            while (!Files.exists(portFile) || Files.readAllLines(portFile).size() < 2) {
                if (System.currentTimeMillis() > deadline || !process.isAlive()) {
                    throw new IllegalStateException(
                            "chromium did not start: "
                                    + Files.readString(profile.resolve("chromium.log")));
                }
                Thread.sleep(50);
            }
            int port = Integer.parseInt(Files.readAllLines(portFile).get(0).strip());
            HttpClient http = HttpClient.newHttpClient();
            JsonNode targets =
                    JSON.readTree(
                            http.send(
                                            HttpRequest.newBuilder(
                                                            URI.create(
                                                                    "http://127.0.0.1:"
                                                                            + port
                                                                            + "/json/list"))
                                                    .build(),
                                            HttpResponse.BodyHandlers.ofString())
                                    .body());
            String page = null;
            for (JsonNode target : targets) {
                if (target.path("type").asText().equals("page")) {
                    page = target.path("webSocketDebuggerUrl").asText();
                }
            }
            if (page == null) {
                throw new IllegalStateException("chromium has no page: " + targets);
            }
            HeadlessChromium[] self = new HeadlessChromium[1];
            StringBuilder frame = new StringBuilder();
            WebSocket socket =
                    http.newWebSocketBuilder()
                            .buildAsync(
                                    URI.create(page),
                                    new WebSocket.Listener() {
                                        @Override
                                        public CompletionStage<?> onText(
                                                WebSocket ws, CharSequence data, boolean last) {
                                            frame.append(data);
                                            if (last) {
                                                self[0].received(frame.toString());
                                                frame.setLength(0);
                                            }
                                            ws.request(1);
                                            return null;
                                        }
                                    })
                            .get(30, TimeUnit.SECONDS);
            self[0] = new HeadlessChromium(process, profile, socket);
            return self[0];
        } catch (Exception e) {
            process.destroyForcibly();
            throw e;
        }
    }

    private void received(String message) {
        try {
            JsonNode node = JSON.readTree(message);
            CompletableFuture<JsonNode> call = calls.remove(node.path("id").asInt(-1));
            if (call != null) {
                call.complete(node);
            }
        } catch (Exception e) {
            // an event we did not ask for
        }
    }

    /** Calls a DevTools method; its result. */
    JsonNode call(String method, ObjectNode params) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        calls.put(id, answer);
        ObjectNode message = JSON.createObjectNode().put("id", id).put("method", method);
        message.set("params", params == null ? JSON.createObjectNode() : params);
        socket.sendText(message.toString(), true).get(10, TimeUnit.SECONDS);
        JsonNode response = answer.get(30, TimeUnit.SECONDS);
        if (response.has("error")) {
            throw new IllegalStateException(method + ": " + response.get("error"));
        }
        return response.path("result");
    }

    void navigate(String url) throws Exception {
        call("Page.navigate", JSON.createObjectNode().put("url", url));
    }

    /** The value of a JavaScript expression on the page (JSON-serializable). */
    JsonNode evaluate(String expression) throws Exception {
        JsonNode result =
                call(
                        "Runtime.evaluate",
                        JSON.createObjectNode()
                                .put("expression", expression)
                                .put("returnByValue", true));
        return result.path("result").path("value");
    }

    /** Evaluates {@code expression} every 100 ms until {@code done} holds for its value. */
    JsonNode waitFor(String expression, Predicate<JsonNode> done, Duration timeout)
            throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode value = null;
        while (System.nanoTime() < deadline) {
            value = evaluate(expression);
            if (done.test(value)) {
                return value;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(
                "the page did not get there within " + timeout.toSeconds() + " s: " + value);
    }

    void screenshot(Path png) throws Exception {
        JsonNode shot =
                call("Page.captureScreenshot", JSON.createObjectNode().put("format", "png"));
        Files.createDirectories(png.getParent());
        Files.write(png, Base64.getDecoder().decode(shot.path("data").asText()));
    }

    @Override
    public void close() throws Exception {
        try {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "").get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            // the browser goes anyway
        }
        // Chromium's helpers (network service, renderer) outlive the browser process for a moment
        // and keep writing into the profile; stop them all before the profile goes, or the walk
        // meets files they rename away under it (as it did once in CI).
        List<ProcessHandle> all = new ArrayList<>(process.descendants().toList());
        all.add(process.toHandle());
        all.forEach(ProcessHandle::destroy);
        for (ProcessHandle handle : all) {
            try {
                handle.onExit().get(10, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                handle.destroyForcibly();
                try {
                    handle.onExit().get(10, TimeUnit.SECONDS);
                } catch (TimeoutException stuck) {
                    System.err.println("chromium: process " + handle.pid() + " did not exit");
                }
            }
        }
        // a helper outside the process tree (crashpad) may still write a file: try again shortly
        for (int attempt = 1; ; attempt++) {
            try {
                deleteProfile();
                return;
            } catch (IOException e) {
                if (attempt == 5) {
                    System.err.println("chromium: profile " + profile + " left behind: " + e);
                    return;
                }
                Thread.sleep(200);
            }
        }
    }

    /** Deletes the profile; a file gone by the time the walk reaches it is already deleted. */
    private void deleteProfile() throws IOException {
        Files.walkFileTree(
                profile,
                new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                            throws IOException {
                        Files.deleteIfExists(file);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFileFailed(Path file, IOException e)
                            throws IOException {
                        if (e instanceof NoSuchFileException) {
                            return FileVisitResult.CONTINUE;
                        }
                        throw e;
                    }

                    @Override
                    public FileVisitResult postVisitDirectory(Path dir, IOException e)
                            throws IOException {
                        if (e != null && !(e instanceof NoSuchFileException)) {
                            throw e;
                        }
                        Files.deleteIfExists(dir);
                        return FileVisitResult.CONTINUE;
                    }
                });
    }
}
