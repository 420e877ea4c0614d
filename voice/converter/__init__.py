"""The trained converter (`convert --backend vox-vc`): content + speaker + F0 -> mel -> HiFi-GAN.

analysis.py          one utterance -> the model's inputs and target (content, log-F0, voicing, mel, d-vector)
network.py           the mel generator (nn.Module)
weights.py           shipped fp16 safetensors: save / load with format checks
corpus.py            training features cached from a manifest's real speech
training.py          the resumable training loop
backend.py           TrainedConverter: what `vox-vc` runs
The content frames come from Whisper tiny.en's encoder (voxtwin/whisper_encoder.py), shared with detect/.
"""
