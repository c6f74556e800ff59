import Foundation

// A tiny HTTP/1.1 server on 127.0.0.1 (ephemeral port) for the judge tests: one thread accepts
// connections and answers each request from a scripted handler (status, body, headers, delay). It counts
// the requests in flight; `gate` holds the first requests until that many are in flight at once, so a
// test can see that the client really overlaps them (the hold times out after 10 s and opens anyway).
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

final class LocalChatServer: @unchecked Sendable {
  struct Request {
    var path: String
    var headers: [String: String]
    var body: Data
  }
  struct Reply {
    var status: Int
    var body: String
    var delay: Double = 0
    var headers: [String: String] = [:]
  }

  let port: Int
  private let fd: Int32
  private let lock = NSLock()
  private var _requests: [Request] = []
  private let handler: @Sendable (Int, Request) -> Reply
  private var stopped = false
  private let gateCondition = NSCondition()
  private var inFlight = 0, _maxInFlight = 0
  private var gateOpen: Bool
  private let gate: Int

  /// The most requests that were ever being answered at the same time.
  var maxInFlight: Int {
    gateCondition.lock()
    defer { gateCondition.unlock() }
    return _maxInFlight
  }

  var requests: [Request] {
    lock.lock()
    defer { lock.unlock() }
    return _requests
  }
  var baseURL: String { "http://127.0.0.1:\(port)" }

  /// `handler(index, request)`: index counts requests from 0.
  init(gate: Int = 0, handler: @escaping @Sendable (Int, Request) -> Reply) throws {
    self.handler = handler
    self.gate = gate
    gateOpen = gate <= 1
    let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard sock >= 0 else { throw POSIXError(.EIO) }
    var one: Int32 = 1
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(sock, 16) == 0 else {
      close(sock)
      throw POSIXError(.EADDRINUSE)
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) }
    }
    fd = sock
    port = Int(UInt16(bigEndian: addr.sin_port))
    let t = Thread { [self] in acceptLoop() }
    t.start()
  }

  func stop() {
    lock.lock()
    stopped = true
    lock.unlock()
    shutdown(fd, Int32(SHUT_RDWR))
    close(fd)
  }

  private func acceptLoop() {
    while true {
      let c = accept(fd, nil, nil)
      if c < 0 { return }
      lock.lock()
      let s = stopped
      lock.unlock()
      if s {
        close(c)
        return
      }
      // one thread per connection, so a deliberately slow reply does not hold up the next request
      Thread { [self] in
        serve(c)
        close(c)
      }.start()
    }
  }

  private func serve(_ c: Int32) {
    var buf = [UInt8](repeating: 0, count: 65536)
    var data = Data()
    var headerEnd: Range<Data.Index>?
    while headerEnd == nil {
      let n = read(c, &buf, buf.count)
      if n <= 0 { return }
      data.append(contentsOf: buf[0..<n])
      headerEnd = data.range(of: Data("\r\n\r\n".utf8))
    }
    let head = String(decoding: data[..<headerEnd!.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
    var headers: [String: String] = [:]
    for line in head.dropFirst() {
      if let i = line.firstIndex(of: ":") {
        headers[line[..<i].lowercased()] = line[line.index(after: i)...].trimmingCharacters(in: .whitespaces)
      }
    }
    let length = Int(headers["content-length"] ?? "0") ?? 0
    var body = Data(data[headerEnd!.upperBound...])
    while body.count < length {
      let n = read(c, &buf, buf.count)
      if n <= 0 { return }
      body.append(contentsOf: buf[0..<n])
    }
    let path = head.first?.split(separator: " ").dropFirst().first.map(String.init) ?? ""
    let request = Request(path: path, headers: headers, body: body)
    lock.lock()
    let index = _requests.count
    _requests.append(request)
    lock.unlock()
    gateCondition.lock()
    inFlight += 1
    _maxInFlight = max(_maxInFlight, inFlight)
    if inFlight >= gate {
      gateOpen = true
      gateCondition.broadcast()
    }
    let deadline = Date().addingTimeInterval(10)
    while !gateOpen, gateCondition.wait(until: deadline) {}
    gateOpen = true
    gateCondition.unlock()
    let reply = handler(index, request)
    if reply.delay > 0 { Thread.sleep(forTimeInterval: reply.delay) }
    // no longer in flight before the answer leaves, so the client's next request cannot overlap this one
    gateCondition.lock()
    inFlight -= 1
    gateCondition.unlock()
    let payload = Data(reply.body.utf8)
    let extra = reply.headers.map { "\($0.key): \($0.value)\r\n" }.joined()
    let text =
      "HTTP/1.1 \(reply.status) X\r\nContent-Type: application/json\r\nContent-Length: \(payload.count)\r\n\(extra)Connection: close\r\n\r\n"
    var out = Data(text.utf8)
    out.append(payload)
    out.withUnsafeBytes { p in
      var off = 0
      while off < p.count {
        let n = write(c, p.baseAddress! + off, p.count - off)
        if n <= 0 { return }
        off += n
      }
    }
  }

  /// A chat completion whose content is `text`.
  static func completion(_ text: String) -> String {
    let obj: [String: Any] = [
      "id": "x", "object": "chat.completion",
      "choices": [["index": 0, "message": ["role": "assistant", "content": text], "finish_reason": "stop"]],
    ]
    return String(decoding: try! JSONSerialization.data(withJSONObject: obj), as: UTF8.self)
  }

  /// The last user message of a request body.
  static func userMessage(_ r: Request) -> String {
    guard let obj = try? JSONSerialization.jsonObject(with: r.body) as? [String: Any],
      let msgs = obj["messages"] as? [[String: Any]]
    else { return "" }
    return msgs.last { ($0["role"] as? String) == "user" }?["content"] as? String ?? ""
  }
}
