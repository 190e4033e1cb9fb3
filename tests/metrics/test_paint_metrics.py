import numpy as np

from inkpaint.metrics.paint import frame_scores


def test_hand_made_case():
    labels = np.zeros((4, 10), np.int32)
    labels[:, 0:5] = 1   # 20 px, red
    labels[:, 5:9] = 2   # 16 px, white bg
    labels[0, 9] = 3     # 1 px, blue
    gt = np.zeros((4, 10, 3), np.uint8)
    gt[:, 0:5] = (255, 0, 0)
    gt[:, 5:9] = 255
    gt[0, 9] = (0, 0, 255)
    pred = np.zeros((4, 10, 4), np.uint8)
    pred[:, 0:5] = (255, 0, 0, 255)
    pred[0, 0:2] = (0, 255, 0, 255)   # minority: majority stays red
    pred[:, 5:9] = 0                  # transparent = BG, equals white GT
    pred[0, 9] = (0, 255, 0, 255)     # wrong
    s = frame_scores(labels, 3, pred, gt)
    assert abs(s["acc"] - 2 / 3) < 1e-9
    assert s["acc_thres"] == 1.0          # the 1-px segment is not counted
    assert abs(s["pix_acc"] - 36 / 37) < 1e-9
    assert abs(s["pix_f_acc"] - 20 / 21) < 1e-9
    assert s["pix_b_miou"] == 1.0
