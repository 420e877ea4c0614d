"""The trained converter (`convert --backend vox-vc`): content + speaker + F0 -> mel -> HiFi-GAN.

content_features.py  Whisper tiny.en encoder frames (speaker-light content)
analysis.py          one utterance -> the model's inputs and target (content, log-F0, voicing, mel, d-vector)
network.py           the mel generator (nn.Module)
weights.py           shipped fp16 safetensors: save / load with format checks
backend.py           the ConvertBackend that runs it
"""
