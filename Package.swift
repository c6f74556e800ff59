// swift-tools-version:6.0
// Binary Autoencoder distributed trainer. Layers, bottom to top:
//   C system libraries (CMPI, COpenBLAS, CZstd)
//   CBAEKernels (popcount bit kernels, the step's threaded float phases, the thread pool)
//   BAERandom (SplitMix64)   BAETensor (BLAS, its products split over the kernels' pool)   BAEIO (npy,
//   safetensors)   BAEComm (MPI)
//   BAEBuildInfo (version, git commit recorded at build time by Plugins/BuildInfoPlugin)
//   BAEModel (every autoencoder kind, losses, Adam, TrainingStep; no MPI)   BAEStore (zstd shards, sampler)
//   BAETrain (config, trainer, checkpoints, evaluation, export)
//   BAEBench (benchmarks)   BAEAnalysis (features, reports)   ->   bae (CLI)
//   tests only: CAllocationCounter (counts heap allocations; interposes malloc in the test binary)
import PackageDescription

let package = Package(
  name: "BAE",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "bae", targets: ["bae"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
  ],
  targets: [
    .systemLibrary(
      name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
      providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
    .systemLibrary(
      name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(
      name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
      providers: [.apt(["libzstd-dev"])]),

    .target(name: "CBAEKernels"),
    .executableTarget(name: "BAEBuildInfoTool"),
    .plugin(name: "BuildInfoPlugin", capability: .buildTool(), dependencies: ["BAEBuildInfoTool"]),
    .target(name: "BAEBuildInfo", plugins: ["BuildInfoPlugin"]),
    .target(name: "BAERandom"),
    .target(name: "BAETensor", dependencies: ["COpenBLAS", "CBAEKernels"]),
    .target(name: "BAEIO"),
    .target(name: "BAEComm", dependencies: ["CMPI"]),
    .target(name: "BAEModel", dependencies: ["BAETensor", "CBAEKernels", "BAERandom"]),
    .target(name: "BAEStore", dependencies: ["CZstd", "BAEIO", "BAERandom"]),
    .target(
      name: "BAETrain",
      dependencies: ["BAEModel", "BAEStore", "BAEComm", "BAEIO", "BAETensor", "BAERandom", "BAEBuildInfo"]),
    .target(
      name: "BAEBench",
      dependencies: ["BAEModel", "BAETrain", "BAEStore", "BAEComm", "BAEIO", "BAETensor", "CBAEKernels", "BAERandom"]),
    .target(
      name: "BAEAnalysis", dependencies: ["BAETrain", "BAEModel", "BAEStore", "BAEIO", "BAETensor", "BAERandom"]),
    .executableTarget(
      name: "bae",
      dependencies: [
        "BAEAnalysis", "BAEBench", "BAETrain", "BAEModel", "BAEStore", "BAEComm", "BAEIO", "BAETensor", "BAEBuildInfo",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    .testTarget(name: "BAETensorTests", dependencies: ["BAETensor"]),
    .testTarget(name: "BAEIOTests", dependencies: ["BAEIO"], resources: [.copy("Fixtures")]),
    // test-only: counts heap allocations (the step-allocates-nothing test); never linked into `bae`
    .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter"),
    .testTarget(
      name: "BAEModelTests",
      dependencies: ["BAEModel", "BAETensor", "BAEIO", "CBAEKernels", "BAERandom", "CAllocationCounter"],
      resources: [.copy("Fixtures")]),
    .testTarget(name: "BAEStoreTests", dependencies: ["BAEStore", "BAEIO", "BAERandom"]),
    .testTarget(name: "BAECommTests", dependencies: ["BAEComm"]),
    .testTarget(
      name: "BAETrainTests", dependencies: ["BAETrain", "BAEModel", "BAEIO", "BAEStore", "BAEComm", "BAETensor"]),
    .testTarget(name: "BAEBenchTests", dependencies: ["BAEBench", "BAETrain", "BAEComm", "BAEModel"]),
    .testTarget(name: "BAECLITests", dependencies: ["BAEIO"]),
    .testTarget(
      name: "BAEAnalysisTests", dependencies: ["BAEAnalysis", "BAETrain", "BAEModel", "BAEStore", "BAEIO", "BAEComm"]),
  ]
)
