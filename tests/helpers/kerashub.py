"""Tiny KerasHub models built offline from constructor arguments (random weights; never
``from_preset``, never a download): image classifiers, segmenters and a detector, each
the smallest configuration KerasHub's own validation accepts, on small images."""
import keras
import keras_hub

SIZE = 32
"""Input side of the classifiers and segmenters (pixels)."""
DETECTOR_SIZE = 64
"""Input side of the detector (its coarsest pyramid level is stride 16)."""
CLASSES = 3

_N = r"(_\d+)?"  # Keras numbers auto-generated names by how many were made in the session
AUTO_LAYERS = {
    "resnet_classifier": rf"res_net_backbone{_N}/stack1_block0_out",
    "efficientnet_classifier": rf"efficient_net_backbone{_N}/top_activation",
    # the decoder's last features: the head (1x1 classifier conv, resizing) is skipped
    "deeplab_segmenter": rf"deep_lab_v3_backbone{_N}/backbone_output_upsampling",
    "segformer_segmenter": rf"seg_former_backbone{_N}/sequential{_N}/activation{_N}",
    # the encoder's last stage: the heads are shared by the pyramid levels (skipped) and
    # the feature pyramid is one custom layer with a dict output
    "retinanet_detector": rf"retina_net_backbone{_N}/backbone/stack2_block0_out",
}
"""The automatic layer of each model below (a regular expression of its path)."""


def _seeded(seed):
    keras.utils.set_random_seed(seed)


def resnet_backbone(image_shape=(None, None, 3)):
    """ResNet with two basic-block stacks (KerasHub requires 64 filters in the stem and
    the first stack: its first block adds its input unprojected)."""
    return keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64, 64],
        stackwise_num_blocks=[1, 1],
        stackwise_num_strides=[1, 2],
        block_type="basic_block",
        image_shape=image_shape,
    )


def resnet_classifier(seed=0):
    _seeded(seed)
    return keras_hub.models.ResNetImageClassifier(resnet_backbone(), num_classes=CLASSES)


def efficientnet_classifier(seed=0):
    """EfficientNet with one fused and one MBConv (squeeze-and-excite) stage."""
    _seeded(seed)
    backbone = keras_hub.models.EfficientNetBackbone(
        stackwise_width_coefficients=[1.0, 1.0],
        stackwise_depth_coefficients=[1.0, 1.0],
        stackwise_kernel_sizes=[3, 3],
        stackwise_num_repeats=[1, 1],
        stackwise_input_filters=[8, 8],
        stackwise_output_filters=[8, 16],
        stackwise_expansion_ratios=[1, 2],
        stackwise_squeeze_and_excite_ratios=[0.0, 0.25],
        stackwise_strides=[1, 2],
        stackwise_block_types=["fused", "unfused"],
        stackwise_force_input_filters=[0, 0],
        stackwise_nores_option=[False, False],
        num_features=32,
        dropout=0.0,
        input_shape=(None, None, 3),
    )
    return keras_hub.models.EfficientNetImageClassifier(backbone, num_classes=CLASSES)


def deeplab_segmenter(seed=0):
    """DeepLabV3+ on the two-stack ResNet: atrous pyramid pooling on P3 (stride 8),
    upsampled and concatenated with the projected P2 features (the skip connection),
    then upsampled to the input. Built for a fixed image size: Keras' bilinear
    ``UpSampling2D`` cannot trace with unknown spatial dimensions."""
    _seeded(seed)
    backbone = keras_hub.models.DeepLabV3Backbone(
        image_encoder=resnet_backbone((SIZE, SIZE, 3)),
        image_shape=(SIZE, SIZE, 3),
        spatial_pyramid_pooling_key="P3",
        low_level_feature_key="P2",
        upsampling_size=2,
        dilation_rates=[1, 2],
        projection_filters=8,
    )
    return keras_hub.models.DeepLabV3ImageSegmenter(backbone, num_classes=CLASSES)


def segformer_segmenter(seed=0):
    """SegFormer on a two-stage Mix Transformer (overlapping patch embeddings, efficient
    self-attention): the all-MLP decoder fuses both stages at stride 4."""
    _seeded(seed)
    encoder = keras_hub.models.MiTBackbone(
        layerwise_depths=[1, 1],
        num_layers=2,
        layerwise_num_heads=[1, 1],
        layerwise_sr_ratios=[2, 1],
        max_drop_path_rate=0.0,
        layerwise_patch_sizes=[7, 3],
        layerwise_strides=[4, 2],
        hidden_dims=[8, 16],
        image_shape=(SIZE, SIZE, 3),
    )
    backbone = keras_hub.models.SegFormerBackbone(image_encoder=encoder, projection_filters=16)
    return keras_hub.models.SegFormerImageSegmenter(backbone, num_classes=CLASSES)


def retinanet_detector(seed=0):
    """RetinaNet on a three-stack ResNet: feature pyramid P3-P4, 9 anchors per position,
    one conv before each prediction head. ``model(x)`` gives the raw, differentiable
    ``{"bbox_regression": (N, A, 4) centre-xywh deltas, "cls_logits": (N, A, K)}``."""
    _seeded(seed)
    encoder = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64, 64, 64],
        stackwise_num_blocks=[1, 1, 1],
        stackwise_num_strides=[1, 2, 2],
        block_type="basic_block",
        image_shape=(DETECTOR_SIZE, DETECTOR_SIZE, 3),
    )
    backbone = keras_hub.models.RetinaNetBackbone(
        image_encoder=encoder, min_level=3, max_level=4, use_p5=False, image_shape=(DETECTOR_SIZE, DETECTOR_SIZE, 3)
    )
    return keras_hub.models.RetinaNetObjectDetector(backbone, num_classes=CLASSES, pre_logits_num_conv_layers=1)
