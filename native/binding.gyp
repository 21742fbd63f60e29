{
  "variables": {
    "own_gemm": "<!(node -p \"process.env.GENLAB_OWN_GEMM === '1' ? 1 : 0\")"
  },
  "targets": [{
    "target_name": "genlab_native",
    "sources": ["src/addon.cc"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
    "cflags_cc": ["-O3", "-std=c++17", "-pthread"],
    "ldflags": ["-pthread"],
    "conditions": [
      ["own_gemm==1", {
        "defines": ["GENLAB_OWN_GEMM"]
      }, {
        "conditions": [
          ["OS=='mac'", {
            "defines": ["GENLAB_ACCELERATE"],
            "libraries": ["-framework Accelerate"]
          }, {
            "libraries": ["-lopenblas"]
          }]
        ]
      }],
      ["OS=='mac'", {
        "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"] }
      }],
      ["OS=='linux' and target_arch=='x64'", {
        "cflags_cc": ["<!(node -p \"process.env.GENLAB_PORTABLE === '1' ? '-mtune=generic' : '-march=native'\")"]
      }]
    ]
  }]
}
