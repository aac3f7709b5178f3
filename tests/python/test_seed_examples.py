"""The seeds' other examples (shared/seeds/store-python-api.md), run as
separate processes; only the master's address is changed."""
import pytest

from conftest import run_python

SETUP = '''import numpy as np
from mooncake.store import MooncakeDistributedStore, ReplicateConfig
store = MooncakeDistributedStore()
store.setup("localhost", "http://localhost:8080/metadata", 512*1024*1024, 128*1024*1024, "tcp", "", "localhost:50051")
'''

EXAMPLES = {
    # Basic API Usage > Simple Get/Put Operations
    "numpy-get-put": '''import numpy as np
import json
from mooncake.store import MooncakeDistributedStore

# 1. Initialize
store = MooncakeDistributedStore()
store.setup("localhost",
            "http://localhost:8080/metadata",
            512*1024*1024,
            128*1024*1024,
            "tcp",
            "",
            "localhost:50051")
print("Store ready.")

# 2. Store data
store.put("config", b'{"model": "llama-7b", "temperature": 0.7}')
model_weights = np.random.randn(1000, 1000).astype(np.float32)
store.put("weights", model_weights.tobytes())
store.put("cache", b"some serialized cache data")

# 3. Retrieve and verify data
config = json.loads(store.get("config").decode())
weights = np.frombuffer(store.get("weights"), dtype=np.float32).reshape(1000, 1000)

print("Config OK:", config["model"])
print("Weights OK, mean =", round(float(weights.mean()), 4))
print("Cache exists?", bool(store.is_exist("cache")))

# 4. Close
store.close()
''',
    # Zero-Copy API > Memory Registration
    "register-buffer": '''import numpy as np
from mooncake.store import MooncakeDistributedStore

# Initialize store
store = MooncakeDistributedStore()
store.setup("localhost", "http://localhost:8080/metadata", 512*1024*1024, 128*1024*1024, "tcp", "", "localhost:50051")

# Create a large buffer
buffer = np.zeros(100 * 1024 * 1024, dtype=np.uint8)  # 100MB buffer

# Register the buffer for zero-copy operations
buffer_ptr = buffer.ctypes.data
result = store.register_buffer(buffer_ptr, buffer.nbytes)
if result != 0:
    print(f"Failed to register buffer: {result}")
    raise RuntimeError(f"Failed to register buffer: {result}")
print("Buffer registered successfully.")
store.unregister_buffer(buffer_ptr)
''',
    # Non-Zero-Copy API > Basic Operations
    "non-zero-copy": '''from mooncake.store import MooncakeDistributedStore

# Initialize (same as zero-copy)
store = MooncakeDistributedStore()
store.setup("localhost", "http://localhost:8080/metadata", 512*1024*1024, 128*1024*1024, "tcp", "", "localhost:50051")

# Simple put/get (automatic memory management)
data = b"Hello, World!" * 1000  # ~13KB
store.put("message", data)

retrieved = store.get("message")
print(retrieved == data)  # True

# Batch operations
keys = ["key1", "key2", "key3"]
values = [b"value1", b"value2", b"value3"]

store.put_batch(keys, values)
retrieved = store.get_batch(keys)
print("Retrieved all keys successfully:", retrieved == values)
''',
    # get_buffer Buffer Protocol (after a put of "large_object")
    "buffer-protocol": SETUP + '''store.put("large_object", b"L" * 4096)
# Get buffer with buffer protocol support
buffer = store.get_buffer("large_object")
if buffer:
    # Access as numpy array without copy
    import numpy as np
    arr = np.array(buffer, copy=False)

    # Direct memory access
    ptr = buffer.ptr()  # Memory address
    size = buffer.size()  # Buffer size in bytes

    # Use with other libraries that accept buffer protocol
    print(f"Buffer size: {len(buffer)} bytes")
''',
    # Batch Zero-Copy Operations > batch_get_into (after puts of tensor1..3)
    "batch-get-into": SETUP + '''for k in ["tensor1", "tensor2", "tensor3"]:
    store.put(k, b"T" * 1000)
# Prepare buffers
keys = ["tensor1", "tensor2", "tensor3"]
buffer_size = 1024 * 1024  # 1MB each
buffers = []
buffer_ptrs = []

for i in range(len(keys)):
    buffer = np.empty(buffer_size, dtype=np.uint8)
    buffers.append(buffer)
    buffer_ptrs.append(buffer.ctypes.data)
    store.register_buffer(buffer.ctypes.data, buffer_size)

# Batch retrieve
sizes = [buffer_size] * len(keys)
results = store.batch_get_into(keys, buffer_ptrs, sizes)

# Check results
for key, result in zip(keys, results):
    if result > 0:
        print(f"Retrieved {key}: {result} bytes")
    else:
        print(f"Failed to retrieve {key}: error {result}")

# Cleanup
for ptr in buffer_ptrs:
    store.unregister_buffer(ptr)
''',
    # put_from_with_metadata example
    "put-from-with-metadata": SETUP + '''import numpy as np

# Create data and metadata
data = np.random.randn(1000).astype(np.float32)
metadata = np.array([42, 100], dtype=np.int32)  # example metadata

# Register buffers
data_ptr = data.ctypes.data
metadata_ptr = metadata.ctypes.data
store.register_buffer(data_ptr, data.nbytes)
store.register_buffer(metadata_ptr, metadata.nbytes)

# Store with metadata
result = store.put_from_with_metadata("data_with_metadata", data_ptr, metadata_ptr,
                                     data.nbytes, metadata.nbytes)
if result == 0:
    print("Data with metadata stored successfully")

# Cleanup
store.unregister_buffer(data_ptr)
store.unregister_buffer(metadata_ptr)
''',
    # batch_remove example (after puts of key1..key5)
    "batch-remove": SETUP + '''store.put_batch(["key1", "key2", "key3", "key4", "key5"], [b"1", b"2", b"3", b"4", b"5"])
# Remove multiple keys in one batch
keys = ["key1", "key2", "key3", "key4", "key5"]
results = store.batch_remove(keys)

# Check results
for key, result in zip(keys, results):
    if result == 0:
        print(f"✓ {key} removed successfully")
    else:
        print(f"✗ {key} failed with error code: {result}")

# Force remove (bypass lease checks)
results = store.batch_remove(keys, force=True)
''',
}

EXPECTED = {
    "numpy-get-put": ["Store ready.", "Config OK: llama-7b", None, "Cache exists? True"],
    "register-buffer": ["Buffer registered successfully."],
    "non-zero-copy": ["True", "Retrieved all keys successfully: True"],
    "buffer-protocol": ["Buffer size: 4096 bytes"],
    "batch-get-into": [f"Retrieved tensor{i}: 1000 bytes" for i in (1, 2, 3)],
    "put-from-with-metadata": ["Data with metadata stored successfully"],
    "batch-remove": [f"✓ key{i} removed successfully" for i in range(1, 6)],
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_seed_example(master, name):
    code = EXAMPLES[name]
    assert code.count("localhost:50051") == 1
    r = run_python(code.replace("localhost:50051", master.addr), timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(EXPECTED[name]), r.stdout
    for got, want in zip(lines, EXPECTED[name]):
        if want is not None:
            assert got == want
